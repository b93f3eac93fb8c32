-- The first schema: identities, signing keys, queries, reports and executions.
-- Portable between SQLite and PostgreSQL: TEXT and BIGINT only; instants are
-- Unix seconds, booleans 0/1, role and API lists space separated.

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE tenant_domains (
    domain TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX tenant_domains_tenant ON tenant_domains (tenant_id);

CREATE TABLE apps (
    client_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    roles TEXT NOT NULL,
    apis TEXT NOT NULL,
    confidential BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX apps_tenant ON apps (tenant_id);

CREATE TABLE app_secrets (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES apps (client_id) ON DELETE CASCADE,
    hash TEXT NOT NULL,
    hint TEXT NOT NULL,
    expires_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX app_secrets_client ON app_secrets (client_id);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, username)
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES apps (client_id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    resource TEXT NOT NULL,
    scope TEXT NOT NULL,
    version TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE queries (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    query_text TEXT NOT NULL,
    dataset TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX queries_tenant ON queries (tenant_id, created_at);

CREATE TABLE reports (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    query_id TEXT NOT NULL,
    query_text TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    modified_at BIGINT,
    execute_now BIGINT NOT NULL,
    start_time BIGINT NOT NULL,
    status TEXT NOT NULL,
    recurrence_interval BIGINT NOT NULL,
    recurrence_count BIGINT,
    callback_url TEXT,
    callback_method TEXT NOT NULL,
    format TEXT NOT NULL,
    query_start BIGINT,
    query_end BIGINT
);
CREATE INDEX reports_tenant ON reports (tenant_id, created_at);
CREATE INDEX reports_query ON reports (query_id);

CREATE TABLE executions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    report_id TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    status TEXT NOT NULL,
    due_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    started_time BIGINT,
    generated_time BIGINT,
    expiry_time BIGINT,
    location TEXT,
    row_count BIGINT,
    byte_count BIGINT,
    sha256 TEXT,
    failure_reason TEXT,
    attempts BIGINT NOT NULL,
    UNIQUE (report_id, seq)
);
CREATE INDEX executions_tenant ON executions (tenant_id, report_id, due_time);
CREATE INDEX executions_due ON executions (status, due_time);
