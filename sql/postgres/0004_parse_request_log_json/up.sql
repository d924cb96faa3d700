-- PostgreSQL override of ../../0004_parse_request_log_json/up.sql.
-- Why it differs: PostgreSQL has a real JSON type, so the new columns are
-- JSONB. Its cast text::jsonb raises an error on invalid JSON instead of
-- returning NULL, it has no JSON_VALID(), and PostgreSQL 15 lacks
-- pg_input_is_valid() (16+). So the copy is done in an anonymous DO block,
-- which leaves no function behind: one set-based UPDATE first; if any row
-- holds text that jsonb rejects, that UPDATE is undone and the rows are
-- converted one by one, each cast caught on its own, invalid ones left NULL.
-- Rejected are invalid syntax, \u0000 escapes (which jsonb cannot store;
-- both are class 22, data_exception) and nesting too deep for the parser
-- (54001, a program_limit_exceeded).

ALTER TABLE request_logs ADD COLUMN parsed_headers JSONB;
ALTER TABLE request_logs ADD COLUMN parsed_query_params JSONB;

DO $$
DECLARE
    r RECORD;
    h JSONB;
    q JSONB;
BEGIN
    -- Fast path: every non-NULL value is valid JSON.
    BEGIN
        UPDATE request_logs
           SET parsed_headers = headers::jsonb,
               parsed_query_params = query_params::jsonb
         WHERE headers IS NOT NULL OR query_params IS NOT NULL;
        RETURN;
    EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
        NULL;  -- at least one row is not valid JSON: go row by row
    END;

    FOR r IN
        SELECT id, headers, query_params
          FROM request_logs
         WHERE headers IS NOT NULL OR query_params IS NOT NULL
    LOOP
        BEGIN
            h := r.headers::jsonb;
        EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
            h := NULL;
        END;
        BEGIN
            q := r.query_params::jsonb;
        EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
            q := NULL;
        END;
        IF h IS NOT NULL OR q IS NOT NULL THEN
            UPDATE request_logs
               SET parsed_headers = h,
                   parsed_query_params = q
             WHERE id = r.id;
        END IF;
    END LOOP;
END
$$;
