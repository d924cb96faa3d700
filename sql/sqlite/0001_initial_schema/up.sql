-- SQLite override of ../../0001_initial_schema/up.sql.
-- Why it differs: SQLite has no identity columns; an auto-incrementing key must
-- be spelled exactly INTEGER PRIMARY KEY (AUTOINCREMENT also stops ids of
-- deleted rows from being reused). SQLite has no TIMESTAMP WITH TIME ZONE
-- either: DATETIME holds CURRENT_TIMESTAMP's UTC text 'YYYY-MM-DD HH:MM:SS'.

CREATE TABLE request_logs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp         DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
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
    created_at        DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at        DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX idx_request_logs_timestamp ON request_logs (timestamp);
CREATE INDEX idx_request_logs_server_id ON request_logs (server_id);

CREATE TABLE mock_servers (
    id                VARCHAR(255) PRIMARY KEY,
    name              VARCHAR(255) NOT NULL,
    spec_path         TEXT NOT NULL,
    spec_content      TEXT,
    output_directory  TEXT NOT NULL,
    port              INTEGER,
    status            VARCHAR(50) NOT NULL DEFAULT 'stopped',
    pid               INTEGER,
    config            TEXT,
    created_at        DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at        DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    started_at        DATETIME,
    stopped_at        DATETIME
);
