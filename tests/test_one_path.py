"""The defects of issue 15, each as the behaviour that replaces it (SPEC §3, §4).

A file runs once per attempt; bookkeeping is bound, never escaped; errors quote the user's
statement only; a signal after the closing commit changes nothing; a failure with nothing
committed leaves the version pending; mysql data files are atomic; a dead mysql run's
statement is waited for.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, Db, write_migration

_FAIL = "SELECT * FROM no_such_table_anywhere"


# -- 1. a failing file runs once ----------------------------------------------------------
def test_a_failing_postgres_file_runs_its_statements_once(postgres_db: Db, sqldir: Path, cli: Any) -> None:
    """Sequences are not transactional: a second run of the file would advance it twice."""
    db = postgres_db
    write_migration(sqldir, "0001_seq", "CREATE SEQUENCE s;\n", "DROP SEQUENCE s;\n")
    write_migration(
        sqldir, "0002_uses", f"SELECT nextval('s');\nCREATE TABLE t (a INT);\n{_FAIL};\n", "DROP TABLE t;\n"
    )
    r = cli("up", "--url", db.url)
    assert r.code == 1, r.err
    assert "statement: 3 of 3" in r.err
    assert db.query("SELECT last_value, is_called FROM s") == [(1, True)]
    assert "t" not in db.tables()


def test_a_failure_early_in_a_long_file_prints_the_error_report_and_nothing_else(
    db: Db, sqldir: Path, cli: Any
) -> None:
    """On postgres the error reaches psycopg while the rest of the pipeline is still being
    sent; psycopg then logs that it ignored a second error while closing the pipeline, and
    that log line landed on stderr above the report."""
    inserts = "".join(f"INSERT INTO t VALUES ({i});\n" for i in range(3000))
    write_migration(sqldir, "0001_long", f"CREATE TABLE t (a INT);\n{_FAIL};\n{inserts}", "DROP TABLE t;\n")
    r = cli("up", "--url", db.url)
    assert r.code == 1, r.err
    assert r.err.startswith("error: version 1 (0001_long) up failed\n"), r.err
    assert "statement: 2 of 3002" in r.err and "ignored" not in r.err


_SLEEP = {
    "postgres": "SELECT pg_sleep(4)",
    "mysql": "SELECT SLEEP(4)",
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
    "SELECT count(*) FROM c WHERE x < 0",
}


def test_a_statement_timeout_fires_once(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(
        sqldir,
        "0001_slow",
        f"-- migrator: statement-timeout 1s\nCREATE TABLE t (a INT);\n{_SLEEP[db.dialect]};\n",
        "DROP TABLE t;\n",
    )
    r = cli("up", "--url", db.url)
    assert r.code == 1, r.err
    assert "statement-timeout fired" in r.err or "statement timeout" in r.err, r.err
    ((ms,),) = db.query("SELECT execution_ms FROM schema_version_history")
    assert 900 <= ms < 1900, ms  # the file's time: one timeout of 1 s, not two


# -- 2. bookkeeping is bound, never escaped -----------------------------------------------
_INJECTION = (
    "-- x', NULL); CREATE TABLE rel_injected (id INT); SELECT 1 FROM DUAL WHERE 0 AND ('\n"
    "CREATE TABLE second (a INT);\n"
)


def test_mysql_bookkeeping_is_unchanged_by_the_sql_mode_a_file_sets(
    mysql_db: Db, sqldir: Path, cli: Any
) -> None:
    db = mysql_db
    write_migration(
        sqldir,
        "0001_mode",
        "-- migrator: no-transaction\n"
        "SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES';\nCREATE TABLE first (a INT);\n",
        "DROP TABLE first;\n",
    )
    write_migration(sqldir, "0002_text", _INJECTION, "DROP TABLE second;\n")
    write_migration(
        sqldir,
        "0003_fails",
        f"-- it's a trap \\' \nCREATE TABLE third (a INT);\n{_FAIL};\n",
        "DROP TABLE third;\n",
    )
    r = cli("up", "--url", db.url)
    assert r.code == 1, r.err
    assert "rel_injected" not in db.tables()
    assert db.query("SELECT up_sql FROM schema_version WHERE version = 2") == [(_INJECTION,)]
    assert db.query("SELECT version, status FROM schema_version ORDER BY version") == [
        (1, "applied"),
        (2, "applied"),
        (3, "failed"),
    ]
    ((error,),) = db.query("SELECT error FROM schema_version WHERE version = 3")
    assert "no_such_table_anywhere" in error


def test_mysql_runs_files_with_quotes_under_no_backslash_escapes_in_the_url(
    mysql_db: Db, sqldir: Path, cli: Any
) -> None:
    db = mysql_db
    up = "-- O'Brien's \\ table\nCREATE TABLE quoted (a VARCHAR(20) DEFAULT 'it''s');\n"
    write_migration(sqldir, "0001_q", up, "DROP TABLE quoted;\n")
    url = db.url + ("&" if "?" in db.url else "?") + "sql_mode=NO_BACKSLASH_ESCAPES"
    r = cli("up", "--url", url)
    assert r.code == 0, r.err
    assert db.query("SELECT up_sql FROM schema_version") == [(up,)]


# -- 3. errors quote the user's statement only --------------------------------------------
def test_a_mysql_syntax_error_quotes_only_the_users_statement(mysql_db: Db, sqldir: Path, cli: Any) -> None:
    db = mysql_db
    write_migration(
        sqldir,
        "0001_bad",
        "CREATE TABLE a (id INT);\nALTER TABLE a ADD COLUMN b INT,\n"
        "  ALGORITHM = INPLACE, LOCK = NONE LOCK = NONE;\n",
        "DROP TABLE a;\n",
    )
    r = cli("up", "--url", db.url, "--json")
    assert r.code == 1
    doc = json.loads(r.out)
    message = doc["error"]["database_message"]
    for ours in ("schema_version", "START TRANSACTION", "UPDATE"):
        assert ours not in message and ours not in r.err, message
    ((stored,),) = db.query("SELECT error FROM schema_version WHERE version = 1")
    assert "schema_version" not in stored and "LOCK = NONE" in stored


# -- 4. a signal after the closing commit changes nothing -----------------------------------
class _StopAfter:
    """A reporter that is Ctrl-C'd right after file `version` committed."""

    def __init__(self, version: int) -> None:
        self.version = version

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kw: None

    def file_done(self, pf: Any, ms: float) -> None:
        if pf.version == self.version:
            raise KeyboardInterrupt


def _bracketed(i: int) -> tuple[str, str]:
    return (
        f"-- migrator: no-transaction\nCREATE TABLE t{i} (id INT);\nINSERT INTO t{i} VALUES (1);\n",
        f"-- migrator: no-transaction\nDROP TABLE t{i};\n",
    )


def test_a_signal_right_after_the_closing_commit_leaves_the_version_applied(db: Db, sqldir: Path) -> None:
    from migrator import Migrator

    for i in (1, 2, 3):
        write_migration(sqldir, f"000{i}_t{i}", *_bracketed(i))
    with pytest.raises(KeyboardInterrupt):
        Migrator(db.url, sqldir, reporter=_StopAfter(1)).up()
    assert db.versions() == [(1, "applied")]  # and version 2 has no row at all
    assert Migrator(db.url, sqldir).up().versions == [2, 3]


def test_a_signal_while_the_closing_commit_is_on_its_way_reads_the_outcome_back(
    db: Db, sqldir: Path, monkeypatch: Any
) -> None:
    """The commit reached the server, the signal came before its answer: the version is
    applied, and the runner says so instead of marking it failed."""
    from migrator import Migrator
    from migrator.dialects import open_dialect

    write_migration(sqldir, "0001_t1", *_bracketed(1))
    write_migration(sqldir, "0002_t2", *_bracketed(2))
    cls = type(open_dialect(db.parsed))
    real_commit = cls.commit

    def commit_then_signal(self: Any) -> None:
        real_commit(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(cls, "commit", commit_then_signal)
    with pytest.raises(KeyboardInterrupt):
        Migrator(db.url, sqldir).up()
    monkeypatch.undo()
    assert db.versions() == [(1, "applied")]
    assert Migrator(db.url, sqldir).up().versions == [2]


def test_sigterm_during_a_mysql_run_never_marks_a_committed_version_failed(
    mysql_db: Db, sqldir: Path
) -> None:
    """Random SIGTERMs during a run of many bracketed files: every row is either applied with
    all its statements, or (the one file that was running) failed/running/absent; an applied
    version's table always exists, and a failed one never claims all statements committed."""
    db = mysql_db
    for i in range(1, 41):
        write_migration(
            sqldir,
            f"{i:04d}_t{i}",
            f"CREATE TABLE t{i} (id INT);\nINSERT INTO t{i} VALUES (1);\nALTER TABLE t{i} ADD b INT;\n",
            f"DROP TABLE t{i};\n",
        )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for delay in (0.4, 0.7, 1.0):
        proc = subprocess.Popen(
            [sys.executable, "-m", "migrator", "up", "--url", db.url, "--dir", str(sqldir)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
        if "schema_version" not in db.tables():
            continue  # stopped before it created the version table
        rows = db.query("SELECT version, status, statements_done FROM schema_version ORDER BY version")
        applied = [v for v, s, _ in rows if s == "applied"]
        others = [(v, s, n) for v, s, n in rows if s != "applied"]
        assert applied == list(range(1, len(applied) + 1)), rows
        assert len(others) <= 1, rows
        for v, _s, n in others:
            assert v == len(applied) + 1 and (n or 0) < 3, rows
        if others:  # a person checks and repairs; the next round goes on
            subprocess.run(
                [sys.executable, "-m", "migrator", "repair", "--yes", "--url", db.url, "--dir", str(sqldir)],
                env=env,
                capture_output=True,
                check=True,
            )
            v = others[0][0]
            db.execute(f"DROP TABLE IF EXISTS t{v}")


# -- 5. a failing closing write still records what ran ---------------------------------------
_REFUSE_APPLIED = {
    "postgres": [
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.status = 'applied' AND NEW.version = 2 THEN RAISE EXCEPTION 'refused'; "
        "END IF; RETURN NEW; END $$",
        "CREATE TRIGGER refuse BEFORE UPDATE ON schema_version FOR EACH ROW EXECUTE FUNCTION refuse()",
    ],
    "mysql": [
        "CREATE TRIGGER refuse BEFORE UPDATE ON schema_version FOR EACH ROW BEGIN "
        "IF NEW.status = 'applied' AND NEW.version = 2 THEN "
        "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused'; END IF; END"
    ],
    "sqlite": [
        "CREATE TRIGGER refuse BEFORE UPDATE ON schema_version FOR EACH ROW "
        "WHEN NEW.status = 'applied' AND NEW.version = 2 BEGIN "
        "SELECT RAISE(ABORT, 'refused'); END"
    ],
}


def test_when_the_closing_write_fails_after_ddl_ran_the_row_says_what_committed(
    db: Db, sqldir: Path, cli: Any
) -> None:
    write_migration(sqldir, "0001_victim", "CREATE TABLE victim (a INT);\n", "DROP TABLE victim;\n")
    write_migration(
        sqldir,
        "0002_drop",
        "-- migrator: no-transaction\nDROP TABLE victim;\n",
        "CREATE TABLE victim (a INT);\n",
    )
    assert cli("up", "--to", "1", "--url", db.url).code == 0
    for sql in _REFUSE_APPLIED[db.dialect]:
        db.execute(sql)
    r = cli("up", "--url", db.url)
    assert r.code == 1, r.err
    assert "writing migrator's version table failed" in r.err and "refused" in r.err
    assert "statement 1 of 1 committed" in r.err
    assert "victim" not in db.tables()
    assert db.query("SELECT status, statements_done FROM schema_version WHERE version = 2") == [("failed", 1)]
    blocked = cli("status", "--url", db.url)
    assert "failed" in blocked.out + blocked.err


# -- 7. mysql data files are atomic ----------------------------------------------------------
def test_a_file_of_data_statements_is_atomic_on_every_dialect(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT PRIMARY KEY);\n", "DROP TABLE t;\n")
    write_migration(
        sqldir,
        "0002_rows",
        "INSERT INTO t VALUES (10);\nINSERT INTO t VALUES (11);\nINSERT INTO t VALUES (10);\n",
        "DELETE FROM t;\n",
    )
    dry = cli("up", "--dry-run", "--json", "--url", db.url)
    atomic = {p["version"]: p["atomic"] for p in json.loads(dry.out)["plan"]}
    assert atomic == {1: db.dialect != "mysql", 2: True}
    text = cli("up", "--dry-run", "--url", db.url).out
    assert "0002_rows/up.sql (transaction, atomic, 3 statements)" in text
    if db.dialect == "mysql":
        assert "0001_t/up.sql (no-transaction (statement by statement), not atomic" in text
    r = cli("up", "--url", db.url)
    assert r.code == 1
    assert "nothing of this version was committed: the whole file was rolled back" in r.err
    assert db.query("SELECT id FROM t") == []
    assert db.versions() == [(1, "applied")]
    assert cli("up", "--url", db.url).code == 1  # pending: simply tried again, never blocked


# -- 8. a failure where nothing committed does not block ----------------------------------------
def test_a_first_statement_that_fails_outside_a_transaction_leaves_the_version_pending(
    db: Db, sqldir: Path, cli: Any
) -> None:
    write_migration(
        sqldir,
        "0001_bad",
        f"-- migrator: no-transaction\n{_FAIL};\nCREATE TABLE never (a INT);\n",
        "DROP TABLE never;\n",
    )
    r = cli("up", "--url", db.url)
    assert r.code == 1
    assert "none of its 2 statements committed; version 1 is pending again" in r.err
    assert db.versions() == []
    again = cli("up", "--url", db.url)
    assert again.code == 1, again.err  # not 3: nothing blocks
    assert db.query("SELECT action, outcome FROM schema_version_history") == [
        ("up", "failed"),
        ("up", "failed"),
    ]


def test_a_file_whose_own_transaction_rolled_back_leaves_the_version_pending(
    db: Db, sqldir: Path, cli: Any
) -> None:
    begin = "START TRANSACTION" if db.dialect == "mysql" else "BEGIN"
    write_migration(sqldir, "0001_t", "CREATE TABLE t (a INT);\n", "DROP TABLE t;\n")
    write_migration(
        sqldir,
        "0002_own",
        f"-- migrator: no-transaction\n{begin};\nINSERT INTO t VALUES (1);\n{_FAIL};\nCOMMIT;\n",
        "DELETE FROM t;\n",
    )
    r = cli("up", "--url", db.url)
    assert r.code == 1
    assert "version 2 is pending again" in r.err, r.err
    assert db.query("SELECT COUNT(*) FROM t") == [(0,)]
    assert db.versions() == [(1, "applied")]


def test_a_down_that_fails_before_anything_committed_stays_applied(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(
        sqldir,
        "0001_t",
        "CREATE TABLE t (a INT);\n",
        f"-- migrator: no-transaction\n{_FAIL};\nDROP TABLE t;\n",
    )
    assert cli("up", "--url", db.url).code == 0
    r = cli("down", "--yes", "--url", db.url)
    assert r.code == 1
    assert "version 1 is still applied" in r.err
    assert db.versions() == [(1, "applied")]
    assert "t" in db.tables()


# -- 6. mysql: a dead run's statement is waited for ------------------------------------------
def _wait_for_statement(db: Db, needle: str, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        rows = db.query("SELECT INFO FROM information_schema.PROCESSLIST WHERE INFO IS NOT NULL")
        if any(needle in (r[0] or "") for r in rows):
            return
        time.sleep(0.05)
    raise AssertionError(f"{needle} never ran")


def test_mysql_waits_for_the_statement_a_killed_run_left_executing(
    mysql_db: Db, sqldir: Path, cli: Any
) -> None:
    db = mysql_db
    write_migration(sqldir, "0001_t", "CREATE TABLE dst (a INT);\n", "DROP TABLE dst;\n")
    write_migration(sqldir, "0002_slow", "INSERT INTO dst SELECT SLEEP(3);\n", "DELETE FROM dst;\n")
    assert cli("up", "--to", "1", "--url", db.url).code == 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "migrator", "up", "--url", db.url, "--dir", str(sqldir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _wait_for_statement(db, "SLEEP(3)")
    proc.kill()
    proc.communicate()
    blocked = cli("up", "--lock-timeout", "0.5", "--url", db.url)
    assert blocked.code == 4, blocked.err
    assert "still executing" in blocked.err and "connection id" in blocked.err
    r = cli("up", "--lock-timeout", "20", "--url", db.url)
    assert r.code == 0, r.err
    assert db.query("SELECT COUNT(*) FROM dst") == [(1,)]  # the dead run's insert rolled back
    assert db.versions() == [(1, "applied"), (2, "applied")]


# -- 11. a big file whose end cannot be split ---------------------------------------------------
def test_a_big_file_with_an_unclosed_quote_at_its_end_says_what_ran(db: Db, sqldir: Path, cli: Any) -> None:
    from migrator.model import BIG_FILE_BYTES

    rows = ",\n".join(f"({{k}}{i:03d}, 'row {i} lima O''Brien foxtrot xray zulu victor')" for i in range(400))
    body = "".join(f"INSERT INTO big (id, note) VALUES\n{rows.format(k=k + 1)};\n" for k in range(60))
    write_migration(
        sqldir,
        "0001_create",
        "CREATE TABLE big (id INT PRIMARY KEY, note VARCHAR(80));\n",
        "DROP TABLE big;\n",
    )
    folder = write_migration(
        sqldir, "0002_load", body + "INSERT INTO big VALUES (1, 'unclosed);\n", "DELETE FROM big;\n"
    )
    assert (folder / "up.sql").stat().st_size > BIG_FILE_BYTES
    r = cli("up", "--url", db.url)
    assert "0002_load/up.sql:24061:28: unterminated string" in r.err
    if db.dialect == "mysql":  # it would run statement by statement: lexed whole first
        assert r.code == 2, r.err
        assert db.tables() == set()
        return
    assert r.code == 1, r.err  # not 2: version 1 ran, and the file's start ran and rolled back
    assert "cannot be split" in r.err
    ((count,),) = db.query("SELECT COUNT(*) FROM big")
    assert "nothing of this version was committed: the whole file was rolled back" in r.err
    assert count == 0
    assert db.versions() == [(1, "applied")]


def test_mysql_prepares_each_bookkeeping_statement_once_per_connection(
    mysql_db: Db, sqldir: Path, monkeypatch: Any
) -> None:
    """Binding on the server must not cost a prepare per write: the connector re-prepares
    unless handed the very string it prepared, and a close-then-prepare pair stalls on
    Nagle's algorithm (the bench's mysql W1 took 38 times as long)."""
    from mysql.connector.connection import MySQLConnection

    from migrator import Migrator

    for i in range(1, 13):
        write_migration(
            sqldir, f"{i:04d}_t{i}", f"CREATE TABLE t{i} (a INT);\nINSERT INTO t{i} VALUES (1);\n"
        )
    prepared: list[tuple[int, bytes]] = []  # (connection, statement)
    real = MySQLConnection.cmd_stmt_prepare

    def counting(self: Any, statement: bytes, **kw: Any) -> Any:
        prepared.append((id(self), statement))
        return real(self, statement, **kw)

    monkeypatch.setattr(MySQLConnection, "cmd_stmt_prepare", counting)
    assert Migrator(mysql_db.url, sqldir).up().versions == list(range(1, 13))
    assert len(prepared) == len(set(prepared)) <= 12, prepared  # 12 files, 48 writes
