-- Reverse of up.sql: the referencing table first, then the one it references,
-- then the added column. Portable as it is, SQLite included: ALTER TABLE ...
-- DROP COLUMN needs SQLite 3.35 or later, and works here because webhook_url
-- is in no index, constraint or view.

DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
ALTER TABLE request_logs DROP COLUMN webhook_url;
