-- MySQL/MariaDB override of ../../0001_initial_schema/up.sql.
-- Why it differs: neither MySQL nor MariaDB has identity columns
-- (AUTO_INCREMENT instead) or TIMESTAMP WITH TIME ZONE: DATETIME(6) keeps
-- microseconds and, unlike TIMESTAMP, does not shift with the session time
-- zone or stop in 2038. Tables are InnoDB (transactions, foreign keys) in
-- utf8mb4 (all of Unicode), whatever the server's defaults are.
-- Indexes are declared inside CREATE TABLE, as is usual in MySQL; the
-- resulting indexes are the same as the generic file's.

CREATE TABLE request_logs (
    id                BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    timestamp         DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    method            VARCHAR(10) NOT NULL,
    path              TEXT NOT NULL,
    query_params      TEXT,
    headers           TEXT,
    request_body      TEXT,
    response_status   INTEGER NOT NULL,
    response_headers  TEXT,
    response_body     TEXT,
    response_time_ms  INTEGER,
    server_id         VARCHAR(255),
    client_ip         VARCHAR(45),
    user_agent        TEXT,
    request_id        VARCHAR(255),
    scenario_name     VARCHAR(255),
    created_at        DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at        DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    INDEX idx_request_logs_timestamp (timestamp),
    INDEX idx_request_logs_server_id (server_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE mock_servers (
    id                VARCHAR(255) NOT NULL PRIMARY KEY,
    name              VARCHAR(255) NOT NULL,
    spec_path         TEXT NOT NULL,
    spec_content      TEXT,
    output_directory  TEXT NOT NULL,
    port              INTEGER,
    status            VARCHAR(50) NOT NULL DEFAULT 'stopped',
    pid               INTEGER,
    config            TEXT,
    created_at        DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at        DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    started_at        DATETIME(6) NULL,
    stopped_at        DATETIME(6) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
