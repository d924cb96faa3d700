-- SQLite override of ../../0003_add_webhook_support/up.sql.
-- Why it differs: an auto-incrementing key must be spelled exactly
-- INTEGER PRIMARY KEY (SQLite has no identity columns), so webhook_id, which
-- references it, is INTEGER too; timestamps are DATETIME (no TIMESTAMP WITH
-- TIME ZONE). BOOLEAN is stored as 0/1.

ALTER TABLE request_logs ADD COLUMN webhook_url TEXT;

CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id   VARCHAR(255) NOT NULL,
    name        VARCHAR(255) NOT NULL,
    url         TEXT NOT NULL,
    method      VARCHAR(10) NOT NULL DEFAULT 'POST',
    headers     TEXT,
    events      TEXT NOT NULL,
    secret_key  VARCHAR(255),
    is_active   BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT fk_webhooks_server_id FOREIGN KEY (server_id)
        REFERENCES mock_servers (id) ON DELETE CASCADE
);

CREATE TABLE webhook_deliveries (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id        INTEGER NOT NULL,
    event_type        VARCHAR(255) NOT NULL,
    payload           TEXT NOT NULL,
    response_status   INTEGER,
    response_body     TEXT,
    delivery_time_ms  INTEGER,
    attempt_number    INTEGER NOT NULL DEFAULT 1,
    success           BOOLEAN NOT NULL DEFAULT FALSE,
    error_message     TEXT,
    delivered_at      DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT fk_webhook_deliveries_webhook_id FOREIGN KEY (webhook_id)
        REFERENCES webhooks (id) ON DELETE CASCADE
);

CREATE INDEX idx_webhooks_server_id ON webhooks (server_id);
CREATE INDEX idx_webhook_deliveries_webhook_id ON webhook_deliveries (webhook_id);
