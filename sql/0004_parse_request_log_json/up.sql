-- Data migration: keep a checked, normalised copy of the JSON that
-- request_logs.headers and request_logs.query_params hold as text.
-- Only rows whose text is valid JSON are filled; the others (invalid JSON,
-- NULL) keep NULL in the new columns, and the original text is not touched.
--
-- Generic version: JSON_VALID() and JSON_EXTRACT(x, '$') are the JSON
-- functions that MySQL, MariaDB and SQLite share, and this file is what
-- MySQL/MariaDB run. JSON_EXTRACT(x, '$') returns the whole document
-- re-serialised with one spacing, {"a": 1, "b": [1, 2]}, on both (MySQL 8
-- also sorts object keys and keeps only the last of duplicate keys).
-- Known limits: MySQL 8's JSON_VALID() raises error 3157 instead of returning
-- 0 on a document nested over 100 levels deep, which would stop this UPDATE
-- (MariaDB 10.11 returns 0 from 32 levels on, leaving such a row NULL); and
-- the re-serialised text can be longer than the original, so a compact value
-- close to TEXT's 65,535 bytes may not fit.
-- sqlite/ and postgres/ override this file.
-- The new columns are TEXT (MySQL's JSON type has no MariaDB equivalent that
-- behaves the same), and nothing is indexed on them.

ALTER TABLE request_logs ADD COLUMN parsed_headers TEXT;
ALTER TABLE request_logs ADD COLUMN parsed_query_params TEXT;

UPDATE request_logs
   SET parsed_headers = JSON_EXTRACT(headers, '$')
 WHERE JSON_VALID(headers) = 1;

UPDATE request_logs
   SET parsed_query_params = JSON_EXTRACT(query_params, '$')
 WHERE JSON_VALID(query_params) = 1;
