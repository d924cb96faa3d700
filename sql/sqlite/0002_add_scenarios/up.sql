-- SQLite override of ../../0002_add_scenarios/up.sql.
-- Why it differs: an auto-incrementing key must be spelled exactly
-- INTEGER PRIMARY KEY (SQLite has no identity columns), and timestamps are
-- DATETIME (no TIMESTAMP WITH TIME ZONE). BOOLEAN is stored as 0/1.
-- The foreign key is only enforced on connections with foreign keys enabled.

CREATE TABLE scenarios (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         VARCHAR(255) NOT NULL,
    server_id    VARCHAR(255) NOT NULL,
    description  TEXT,
    config       TEXT NOT NULL,
    is_active    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at   DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_by   VARCHAR(255),
    CONSTRAINT fk_scenarios_server_id FOREIGN KEY (server_id)
        REFERENCES mock_servers (id) ON DELETE CASCADE,
    CONSTRAINT uq_scenarios_name_server_id UNIQUE (name, server_id)
);

CREATE INDEX idx_scenarios_name ON scenarios (name);
CREATE INDEX idx_scenarios_server_id ON scenarios (server_id);
CREATE INDEX idx_scenarios_is_active ON scenarios (is_active);
