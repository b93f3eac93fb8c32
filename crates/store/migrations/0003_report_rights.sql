-- Whose rights a report runs with: 1 when its creator could see restricted
-- values (ExecutiveReportViewer), re-checked at every run. Reports made
-- before this column existed run redacted until an ExecutiveReportViewer
-- re-creates them: the safe default.

ALTER TABLE reports ADD COLUMN restricted_access BIGINT NOT NULL DEFAULT 0;
