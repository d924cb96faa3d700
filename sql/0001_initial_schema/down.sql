-- Reverse of up.sql: drop the tables in the opposite order of creation.
-- Their indexes go with them. Portable as it is: no dialect overrides this.

DROP TABLE mock_servers;
DROP TABLE request_logs;
