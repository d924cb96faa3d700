"""Real SQL that naive splitters break, run against each real server; timeouts; the library."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from migrator import Migrator
from migrator.errors import DriftError, LayoutError, MigrationFailedError
from tests.conftest import Db, write_migration

PROCEDURAL = {
    "sqlite": (
        "CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT, n INT DEFAULT 0);\n"
        "CREATE TABLE audit (msg TEXT);\n"
        "-- a comment with a ; and a ' quote\n"
        "CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN\n"
        "  INSERT INTO audit (msg) VALUES ('inserted; ' || NEW.note);\n"
        "  UPDATE t SET n = CASE WHEN NEW.id > 0 THEN 1 ELSE 2 END WHERE id = NEW.id;\n"
        "END;\n"
        "INSERT INTO t (id, note) VALUES (1, 'it''s; fine');\n"
    ),
    "postgres": (
        "CREATE TABLE t (id INT PRIMARY KEY, note TEXT, n INT DEFAULT 0);\n"
        "CREATE TABLE audit (msg TEXT);\n"
        "/* block /* nested ; */ comment */\n"
        "CREATE FUNCTION t_audit() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
        "BEGIN\n"
        "  INSERT INTO audit (msg) VALUES ('inserted; ' || NEW.note || $$$$);\n"
        "  RETURN NEW;\n"
        "END;\n"
        "$fn$;\n"
        "CREATE TRIGGER t_ins AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION t_audit();\n"
        "INSERT INTO t (id, note) VALUES (1, E'it\\'s; fine')"  # no final semicolon
    ),
    "mysql": (
        "CREATE TABLE t (id INT PRIMARY KEY, note TEXT, n INT DEFAULT 0);\n"
        "CREATE TABLE audit (msg TEXT);\n"
        "# hash comment ; with 'quote\n"
        "DELIMITER $$\n"
        "CREATE TRIGGER t_ins AFTER INSERT ON t FOR EACH ROW\n"
        "BEGIN\n"
        "  IF NEW.id > 0 THEN\n"
        "    INSERT INTO audit (msg) VALUES (CONCAT('inserted; ', NEW.note));\n"
        "  END IF;\n"
        "END$$\n"
        "DELIMITER ;\n"
        "INSERT INTO t (id, note) VALUES (1, 'it\\'s; fine');\n"
    ),
}
DOWN = "DROP TABLE t;\nDROP TABLE audit;\n"


def test_triggers_functions_and_delimiters_run_as_written(db: Db, sqldir: Path, cli: Any) -> None:
    down = DOWN + ("DROP FUNCTION t_audit();\n" if db.dialect == "postgres" else "")
    write_migration(sqldir, "0001_procedural", PROCEDURAL[db.dialect], down)
    result = cli("up", "--url", db.url)
    assert result.code == 0, result.err
    assert db.query("SELECT msg FROM audit") == [("inserted; it's; fine",)]
    assert cli("down", "--yes", "--url", db.url).code == 0
    assert {"t", "audit"}.isdisjoint(db.tables())


def test_lock_wait_timeout_fails_fast_behind_a_held_table_lock(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE busy (id INT);\n", "DROP TABLE busy;\n")
    assert cli("up", "--url", db.url).code == 0
    write_migration(
        sqldir,
        "0002_alter",
        "-- migrator: lock-wait-timeout 1s\nALTER TABLE busy ADD COLUMN extra INT;\n",
        "SELECT 1;\n",
    )
    release = _hold_table_lock(db)
    try:
        started = time.monotonic()
        result = cli("up", "--url", db.url)
        assert time.monotonic() - started < 20
    finally:
        release()
    assert result.code == 1
    assert "lock" in result.err.lower()
    if db.dialect != "sqlite":
        assert "lock-wait-timeout fired" in result.err
    assert [v for v, _ in db.versions() if _ == "applied"] == [1]


def _hold_table_lock(db: Db) -> Any:
    """Another session keeps a write lock on `busy` until release() is called."""
    ready, done = threading.Event(), threading.Event()

    def hold() -> None:
        if db.dialect == "sqlite":
            import sqlite3

            conn = sqlite3.connect(db.parsed.database, isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")  # a writer: readers go on, other writers wait
            ready.set()
            done.wait(30)
            conn.execute("ROLLBACK")
            conn.close()
        elif db.dialect == "postgres":
            import psycopg

            u = db.parsed
            with psycopg.connect(host=u.host, port=u.port, user=u.user, dbname=u.database) as c:
                c.execute("LOCK TABLE busy IN ACCESS EXCLUSIVE MODE")
                ready.set()
                done.wait(30)
        else:
            import mysql.connector

            u = db.parsed
            c = mysql.connector.connect(
                host=u.host, port=u.port, user=u.user or "root", password=u.password, database=u.database
            )
            cur = c.cursor()
            cur.execute("START TRANSACTION")
            cur.execute("SELECT * FROM busy FOR UPDATE")
            cur.fetchall()
            cur.execute("LOCK TABLES busy WRITE")
            ready.set()
            done.wait(30)
            cur.execute("UNLOCK TABLES")
            c.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert ready.wait(10)

    def release() -> None:
        done.set()
        thread.join(10)

    return release


def test_statement_timeout_names_the_timeout(db: Db, sqldir: Path, cli: Any) -> None:
    slow = {
        "postgres": "SELECT pg_sleep(5);\n",
        "mysql": "SELECT SLEEP(5) FROM (SELECT 1) x;\n",
        "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
        "WHERE i < 100000000) SELECT count(*) FROM n;\n",
    }[db.dialect]
    write_migration(sqldir, "0001_slow", slow)
    started = time.monotonic()
    result = cli("up", "--statement-timeout", "500ms", "--url", db.url)
    assert result.code == 1, result.out + result.err
    assert "statement-timeout" in result.err
    assert time.monotonic() - started < 4.5
    assert db.versions() == []  # a data statement: atomic on mysql too, so nothing to block


def test_library_api_runs_and_raises_typed_errors(db: Db, sqldir: Path) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    m = Migrator(db.url, sqldir)
    assert [v.state for v in m.status().versions] == ["pending"]
    planned = m.plan().planned
    assert [(p.version, p.file, len(p.statements)) for p in planned] == [(1, "0001_a/up.sql", 1)]
    assert db.tables() == set()
    result = m.up()
    assert (result.versions, result.after) == ([1], 1)
    write_migration(sqldir, "0002_bad", "SELECT * FROM no_such_table;\n")
    with pytest.raises(MigrationFailedError) as failed:
        Migrator(db.url, sqldir).up()
    assert (failed.value.failure.version, failed.value.exit_code) == (2, 1)
    (sqldir / "0001_a" / "up.sql").write_text("CREATE TABLE a (id BIGINT);\n")
    with pytest.raises(DriftError):
        Migrator(db.url, sqldir).up()
    (sqldir / "junk.txt").write_text("x")
    with pytest.raises(LayoutError):
        Migrator(db.url, sqldir).up()


def test_settings_come_from_migrator_toml_and_env(db: Db, sqldir: Path, cli: Any, tmp_path: Path) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n")
    (tmp_path / "migrator.toml").write_text(f'url = "{db.url}"\ntable = "from_toml"\n')
    assert cli("up").code == 0
    assert "from_toml" in db.tables()
    env_table = cli("status", "--json", env={"MIGRATOR_TABLE": "other_table"})
    assert '"pending": [\n    1\n  ]' in env_table.out  # env beats the file
    assert "other_table" not in db.tables()  # status creates nothing


def test_an_unknown_setting_in_migrator_toml_is_refused(
    db: Db, sqldir: Path, cli: Any, tmp_path: Path
) -> None:
    """A typo such as lock_timout must not be silently ignored."""
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n")
    (tmp_path / "migrator.toml").write_text(f'url = "{db.url}"\nlock-timout = 5\n')
    r = cli("up")
    assert r.code == 2
    assert "migrator.toml: unknown setting lock_timout" in r.err
    assert "known settings: url, dir, table, lock_timeout" in r.err
    assert "a" not in db.tables()
