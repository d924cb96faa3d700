-- MySQL/MariaDB override of ../../0002_add_scenarios/up.sql.
-- Why it differs: AUTO_INCREMENT instead of an identity column, DATETIME(6)
-- instead of TIMESTAMP WITH TIME ZONE, InnoDB/utf8mb4 stated explicitly (the
-- foreign key needs InnoDB, and server_id must have the same character set as
-- mock_servers.id). The indexes are declared in CREATE TABLE: InnoDB needs an
-- index on server_id for the foreign key and would otherwise create one of
-- its own, named after the constraint, before idx_scenarios_server_id exists.

CREATE TABLE scenarios (
    id           BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name         VARCHAR(255) NOT NULL,
    server_id    VARCHAR(255) NOT NULL,
    description  TEXT,
    config       TEXT NOT NULL,
    is_active    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    created_by   VARCHAR(255),
    CONSTRAINT uq_scenarios_name_server_id UNIQUE (name, server_id),
    INDEX idx_scenarios_name (name),
    INDEX idx_scenarios_server_id (server_id),
    INDEX idx_scenarios_is_active (is_active),
    CONSTRAINT fk_scenarios_server_id FOREIGN KEY (server_id)
        REFERENCES mock_servers (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
