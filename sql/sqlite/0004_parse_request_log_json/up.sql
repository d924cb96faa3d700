-- SQLite override of ../../0004_parse_request_log_json/up.sql.
-- Why it differs: SQLite's json_extract(x, '$') returns a top-level JSON
-- scalar as an SQL value, so the valid JSON text '"abc"' would come out as
-- abc, which is not JSON. json(x) returns any valid document minified.
-- Needs the JSON functions, built into SQLite since 3.38 (an extension before).

ALTER TABLE request_logs ADD COLUMN parsed_headers TEXT;
ALTER TABLE request_logs ADD COLUMN parsed_query_params TEXT;

UPDATE request_logs
   SET parsed_headers = json(headers)
 WHERE json_valid(headers) = 1;

UPDATE request_logs
   SET parsed_query_params = json(query_params)
 WHERE json_valid(query_params) = 1;
