-- The scheduler: leases on running executions, retry times, and durable
-- callback deliveries.

ALTER TABLE executions ADD COLUMN lease_owner TEXT;
ALTER TABLE executions ADD COLUMN lease_until BIGINT;
ALTER TABLE executions ADD COLUMN not_before BIGINT;

CREATE INDEX executions_lease ON executions (status, lease_until);

CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    report_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    url TEXT NOT NULL,
    method TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (execution_id)
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
