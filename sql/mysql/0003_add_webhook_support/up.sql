-- MySQL/MariaDB override of ../../0003_add_webhook_support/up.sql.
-- Why it differs: AUTO_INCREMENT instead of identity columns (webhook_id stays
-- BIGINT, signed like webhooks.id, as InnoDB foreign keys require), DATETIME(6)
-- instead of TIMESTAMP WITH TIME ZONE, InnoDB/utf8mb4 stated explicitly (for
-- the foreign keys; server_id must share mock_servers.id's character set).
-- The indexes are declared in CREATE TABLE so that InnoDB uses them for the
-- foreign keys instead of creating indexes of its own.
-- Each statement commits on its own in MySQL: if a later one fails, the
-- earlier ones stay applied.

ALTER TABLE request_logs ADD COLUMN webhook_url TEXT;

CREATE TABLE webhooks (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    server_id   VARCHAR(255) NOT NULL,
    name        VARCHAR(255) NOT NULL,
    url         TEXT NOT NULL,
    method      VARCHAR(10) NOT NULL DEFAULT 'POST',
    headers     TEXT,
    events      TEXT NOT NULL,
    secret_key  VARCHAR(255),
    is_active   BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    INDEX idx_webhooks_server_id (server_id),
    CONSTRAINT fk_webhooks_server_id FOREIGN KEY (server_id)
        REFERENCES mock_servers (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE webhook_deliveries (
    id                BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    webhook_id        BIGINT NOT NULL,
    event_type        VARCHAR(255) NOT NULL,
    payload           TEXT NOT NULL,
    response_status   INTEGER,
    response_body     TEXT,
    delivery_time_ms  INTEGER,
    attempt_number    INTEGER NOT NULL DEFAULT 1,
    success           BOOLEAN NOT NULL DEFAULT FALSE,
    error_message     TEXT,
    delivered_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    INDEX idx_webhook_deliveries_webhook_id (webhook_id),
    CONSTRAINT fk_webhook_deliveries_webhook_id FOREIGN KEY (webhook_id)
        REFERENCES webhooks (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
