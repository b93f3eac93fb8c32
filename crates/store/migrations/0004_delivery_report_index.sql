-- The console lists a report's callback deliveries.
CREATE INDEX deliveries_report ON deliveries (tenant_id, report_id, created_at);
