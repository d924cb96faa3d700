-- Reverse of up.sql: drop the two derived columns (their content can be
-- recomputed from headers and query_params, so nothing is lost).
-- Portable as it is, SQLite included: ALTER TABLE ... DROP COLUMN needs
-- SQLite 3.35 or later, and works because neither column is indexed.

ALTER TABLE request_logs DROP COLUMN parsed_query_params;
ALTER TABLE request_logs DROP COLUMN parsed_headers;
