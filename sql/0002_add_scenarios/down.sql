-- Reverse of up.sql. The indexes and constraints go with the table.
-- Portable as it is: no dialect overrides this.

DROP TABLE scenarios;
