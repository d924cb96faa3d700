"""Running migrations on every dialect, as users run it: the CLI in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Db, write_migration

EXAMPLE_TABLES = {"request_logs", "mock_servers", "scenarios", "webhooks", "webhook_deliveries"}
BOOKKEEPING = {"schema_version", "schema_version_history"}


def test_example_goes_up_down_and_up_again(db: Db, example_sql: Path, cli: Any) -> None:
    up = cli("up", "--url", db.url)
    assert up.code == 0, up.err
    assert "database is at version 4" in up.out
    assert db.tables() == EXAMPLE_TABLES | BOOKKEEPING
    assert db.versions() == [(v, "applied") for v in (1, 2, 3, 4)]

    down = cli("down", "--to", "0", "--yes", "--url", db.url)
    assert down.code == 0, down.err
    assert db.tables() == BOOKKEEPING
    assert db.versions() == []

    again = cli("up", "--url", db.url)
    assert again.code == 0, again.err
    assert db.versions() == [(v, "applied") for v in (1, 2, 3, 4)]
    history = db.query("SELECT action, outcome FROM schema_version_history ORDER BY id")
    assert history == [("up", "ok")] * 4 + [("down", "ok")] * 4 + [("up", "ok")] * 4


def test_second_up_has_nothing_to_do(db: Db, example_sql: Path, cli: Any) -> None:
    assert cli("up", "--url", db.url).code == 0
    again = cli("up", "--url", db.url)
    assert again.code == 0
    assert "nothing to do; database is at version 4" in again.out


def test_data_migration_fills_parsed_columns_from_valid_json(db: Db, example_sql: Path, cli: Any) -> None:
    assert cli("up", "--to", "3", "--url", db.url).code == 0
    db.execute(
        "INSERT INTO request_logs (method, path, response_status, headers, query_params) "
        "VALUES ('GET', '/a', 200, '{\"x\": 1}', 'not json')"
    )
    assert cli("up", "--url", db.url).code == 0
    [(headers, params)] = db.query("SELECT parsed_headers, parsed_query_params FROM request_logs")
    assert headers is not None and "x" in str(headers)
    assert params is None


# where the error is reported: the server's position where it gives one (pg: the second comma;
# MariaDB: "near" the text after it)
ERROR_AT = {"sqlite": "3:1", "postgres": "5:29", "mysql": "5:30"}
FIVE_STATEMENTS = (
    "CREATE TABLE t1 (id INT PRIMARY KEY);\n"
    "INSERT INTO t1 (id) VALUES (1);\n"
    "CREATE TABLE t2 (\n  id INT PRIMARY KEY,\n  name VARCHAR(10) NOT NULL,,\n  note TEXT);\n"
    "INSERT INTO t1 (id) VALUES (2);\n"
    "CREATE TABLE t3 (id INT);\n"
)


def test_syntax_error_in_third_of_five_statements(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_ok", "CREATE TABLE first_ok (id INT);\n", "DROP TABLE first_ok;\n")
    write_migration(sqldir, "0002_broken", FIVE_STATEMENTS, "DROP TABLE t1;\n")
    result = cli("up", "--url", db.url)
    assert result.code == 1
    assert f"0002_broken/up.sql:{ERROR_AT[db.dialect]}" in result.err
    assert "statement: 3 of 5" in result.err
    assert "^" in result.err
    assert db.versions()[0] == (1, "applied")
    if db.dialect == "mysql":
        # DDL committed: the version is recorded as failed with what ran
        assert db.versions()[1] == (2, "failed")
        assert "t1" in db.tables()
        assert "statements 1-2 of 5 committed and stay" in result.err
        [(done, failed_at, line)] = db.query(
            "SELECT statements_done, failed_statement, failed_line FROM schema_version WHERE version = 2"
        )
        assert (done, failed_at, line) == (2, 3, 3)  # the line where the statement starts
    else:
        assert len(db.versions()) == 1
        assert "t1" not in db.tables() and "t2" not in db.tables()
        assert "whole file was rolled back" in result.err
    assert "first_ok" in db.tables()


def test_failed_mysql_version_blocks_later_runs_until_repair(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_broken", FIVE_STATEMENTS, "SELECT 1;\n")
    assert cli("up", "--url", db.url).code == 1
    again = cli("up", "--url", db.url)
    if db.dialect != "mysql":
        assert again.code == 1  # nothing was recorded: the next run simply tries again
        return
    assert again.code == 3
    assert "failed" in again.err and "repair" in again.err
    # a person fixes the file and the database, then repairs
    (sqldir / "0001_broken" / "up.sql").write_text("CREATE TABLE t1 (id INT PRIMARY KEY);\n")
    db.execute("DROP TABLE t1")
    repair = cli("repair", "1", "--yes", "--reason", "fixed by hand", "--url", db.url)
    assert repair.code == 0, repair.err
    assert db.versions() == []
    assert cli("up", "--url", db.url).code == 0
    assert db.versions() == [(1, "applied")]


def test_constraint_violation_in_a_data_statement(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT PRIMARY KEY);\n", "DROP TABLE t;\n")
    write_migration(
        sqldir,
        "0002_data",
        "INSERT INTO t (id) VALUES (1);\nINSERT INTO t (id) VALUES (1);\n",
        "DELETE FROM t;\n",
    )
    result = cli("up", "--url", db.url)
    assert result.code == 1
    assert "statement: 2 of 2" in result.err
    expected_code = {"sqlite": "SQLITE_CONSTRAINT", "postgres": "23505", "mysql": "1062"}
    assert expected_code[db.dialect] in result.err
    # a file of data statements is atomic on every dialect, mysql included (SPEC §3)
    assert db.query("SELECT id FROM t") == []
    assert db.versions() == [(1, "applied")]  # version 2 is simply pending again


def test_json_error_document_on_failure(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_broken", FIVE_STATEMENTS)
    result = cli("up", "--json", "--url", db.url)
    assert result.code == 1
    doc = json.loads(result.out)
    err = doc["error"]
    line, column = map(int, ERROR_AT[db.dialect].split(":"))
    assert (doc["ok"], err["version"], err["statement"], err["statements"], err["line"], err["column"]) == (
        False,
        1,
        3,
        5,
        line,
        column,
    )
    assert err["file"] == "0001_broken/up.sql"
    assert err["database_message"]


def test_dry_run_writes_nothing_at_all(db: Db, example_sql: Path, cli: Any) -> None:
    result = cli("up", "--dry-run", "--url", db.url)
    assert result.code == 0, result.err
    assert "0001_initial_schema" in result.out and "CREATE TABLE" in result.out
    assert db.tables() == set()
    if db.dialect == "sqlite":
        assert not Path(db.parsed.database).exists() or db.tables() == set()


def test_dry_run_json_lists_statements(db: Db, example_sql: Path, cli: Any) -> None:
    result = cli("up", "--dry-run", "--json", "--to", "2", "--url", db.url)
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert [p["version"] for p in doc["plan"]] == [1, 2]
    first = doc["plan"][0]
    assert first["statements"][0]["sql"].upper().startswith("CREATE TABLE")
    expected_mode = "transaction" if db.dialect != "mysql" else "no-transaction"
    assert first["mode"].startswith(expected_mode)


def test_up_to_a_version_that_does_not_exist_is_a_usage_error(db: Db, example_sql: Path, cli: Any) -> None:
    result = cli("up", "--to", "99", "--url", db.url)
    assert result.code == 2
    assert "no version 99" in result.err
    assert db.versions() == []


def test_up_to_stops_at_that_version(db: Db, example_sql: Path, cli: Any) -> None:
    assert cli("up", "--to", "2", "--url", db.url).code == 0
    assert db.versions() == [(1, "applied"), (2, "applied")]


def test_down_default_rolls_back_one_step(db: Db, example_sql: Path, cli: Any) -> None:
    assert cli("up", "--url", db.url).code == 0
    result = cli("down", "--yes", "--url", db.url)
    assert result.code == 0, result.err
    assert [v for v, _ in db.versions()] == [1, 2, 3]
    assert cli("down", "--steps", "2", "--yes", "--url", db.url).code == 0
    assert [v for v, _ in db.versions()] == [1]


def test_down_without_terminal_needs_yes(db: Db, example_sql: Path, cli: Any) -> None:
    assert cli("up", "--url", db.url).code == 0
    result = cli("down", "--url", db.url)
    assert result.code == 2
    assert "--yes" in result.err
    assert len(db.versions()) == 4


def test_down_past_an_irreversible_version_is_refused(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "-- migrator: irreversible\nSELECT 1;\n")
    write_migration(sqldir, "0002_b", "CREATE TABLE b (id INT);\n", "DROP TABLE b;\n")
    assert cli("up", "--url", db.url).code == 0
    result = cli("down", "--to", "0", "--yes", "--url", db.url)
    assert result.code == 3
    assert "irreversible" in result.err
    assert db.versions() == [(1, "applied"), (2, "applied")]
    assert {"a", "b"} <= db.tables()
    assert cli("down", "--yes", "--url", db.url).code == 0  # above it is fine
    assert db.versions() == [(1, "applied")]


def test_redo_rolls_back_and_reapplies_latest(db: Db, example_sql: Path, cli: Any) -> None:
    assert cli("up", "--url", db.url).code == 0
    result = cli("redo", "--yes", "--url", db.url)
    assert result.code == 0, result.err
    assert db.versions() == [(v, "applied") for v in (1, 2, 3, 4)]
    actions = [a for (a,) in db.query("SELECT action FROM schema_version_history ORDER BY id")]
    assert actions[-2:] == ["down", "up"]


def test_settings_do_not_leak_from_one_file_into_the_next(db: Db, sqldir: Path, cli: Any) -> None:
    leak = {
        "sqlite": "PRAGMA foreign_keys = ON;\n",
        "postgres": "CREATE SCHEMA other;\nSET search_path TO other;\n",
        "mysql": "SET FOREIGN_KEY_CHECKS = 0;\n",
    }[db.dialect]
    check = {
        "sqlite": "CREATE TABLE parent (id INTEGER PRIMARY KEY);\n"
        "CREATE TABLE child (pid INTEGER REFERENCES parent(id));\n"
        "INSERT INTO child (pid) VALUES (42);\n",  # fine only with foreign keys off
        "postgres": "CREATE TABLE where_am_i (id INT);\n",
        "mysql": "CREATE TABLE parent (id INT PRIMARY KEY) ENGINE=InnoDB;\n"
        "CREATE TABLE child (pid INT, FOREIGN KEY (pid) REFERENCES parent(id)) "
        "ENGINE=InnoDB;\nINSERT INTO child (pid) VALUES (42);\n",
    }[db.dialect]
    directive = "-- migrator: no-transaction\n" if db.dialect == "sqlite" else ""
    write_migration(sqldir, "0001_set", directive + leak)
    write_migration(sqldir, "0002_check", check)
    result = cli("up", "--url", db.url)
    if db.dialect == "postgres":
        assert result.code == 0, result.err
        assert "where_am_i" in db.tables()  # created in public, not in `other`
    elif db.dialect == "sqlite":
        assert result.code == 0, result.err  # foreign_keys went back to off
    else:
        assert result.code == 1  # FOREIGN_KEY_CHECKS is back on: the orphan row is refused
        assert "1452" in result.err


def test_temporary_tables_do_not_leak_from_one_file_into_the_next(db: Db, sqldir: Path, cli: Any) -> None:
    """Each file starts with a clean session: a scratch table one data migration made is gone
    when the next one, written the same way, makes its own."""
    for v in (1, 2):
        write_migration(
            sqldir,
            f"000{v}_fill",
            "CREATE TEMPORARY TABLE scratch_ids (id INT);\nINSERT INTO scratch_ids VALUES (1);\n",
        )
    write_migration(sqldir, "0003_check", "CREATE TEMPORARY TABLE scratch_ids (id INT);\n")
    result = cli("up", "--url", db.url)
    assert result.code == 0, result.out + result.err
    assert db.versions() == [(1, "applied"), (2, "applied"), (3, "applied")]


def test_statement_refused_in_a_transaction_is_a_layout_error(db: Db, sqldir: Path, cli: Any) -> None:
    refused = {"sqlite": "VACUUM;\n", "postgres": "CREATE INDEX CONCURRENTLY i ON t (id);\n", "mysql": None}[
        db.dialect
    ]
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT);\n")
    write_migration(sqldir, "0002_tx", "CREATE TABLE u (id INT);\nBEGIN;\nCOMMIT;\n")
    result = cli("up", "--url", db.url)
    if db.dialect == "mysql":
        assert result.code == 0, result.err  # mysql files never run in one transaction
        return
    assert result.code == 2
    assert "no-transaction" in result.err and "0002_tx/up.sql:2" in result.err
    assert db.versions() == []  # found before anything ran
    (sqldir / "0002_tx" / "up.sql").write_text(f"CREATE TABLE u (id INT);\n{refused}")
    result = cli("up", "--url", db.url)
    assert result.code == 2 and "no-transaction" in result.err
    assert db.versions() == []


def test_postgres_abort_is_transaction_control_like_rollback(postgres_db: Db, sqldir: Path, cli: Any) -> None:
    """ABORT is postgres for ROLLBACK: run inside the file's transaction it would undo the
    file, and the version row written after it would record a version whose table is gone."""
    for control in ("ABORT;\n", "abort work;\n", "PREPARE TRANSACTION 'x';\n"):
        write_migration(sqldir, "0001_t", f"CREATE TABLE t (id INT);\n{control}", "DROP TABLE t;\n")
        result = cli("up", "--url", postgres_db.url)
        assert result.code == 2, (control, result.out + result.err)
        assert "0001_t/up.sql:2:1: the file manages its own transaction" in result.err
        assert "no-transaction" in result.err
        assert postgres_db.versions() == [] and "t" not in postgres_db.tables()


def test_rollback_to_a_savepoint_is_not_transaction_control(
    transactional_db: Db, sqldir: Path, cli: Any
) -> None:
    """ROLLBACK TO SAVEPOINT undoes part of the file's transaction, which stays open: a
    transactional file may use it. (mysql runs a file with SAVEPOINT statement by statement.)"""
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT);\n", "DROP TABLE t;\n")
    write_migration(
        sqldir,
        "0002_savepoint",
        "INSERT INTO t VALUES (1);\nSAVEPOINT s;\nINSERT INTO t VALUES (2);\n"
        "ROLLBACK TO SAVEPOINT s;\nINSERT INTO t VALUES (3);\nRELEASE SAVEPOINT s;\n"
        "SAVEPOINT s2;\nINSERT INTO t VALUES (4);\nROLLBACK TRANSACTION TO s2;\n",
        "DELETE FROM t;\n",
    )
    db = transactional_db
    result = cli("up", "--url", db.url)
    assert result.code == 0, result.out + result.err
    assert db.query("SELECT id FROM t ORDER BY id") == [(1,), (3,)]
    assert db.versions() == [(1, "applied"), (2, "applied")]


@pytest.mark.parametrize(
    "refused",
    [
        "REINDEX SCHEMA public;\n",
        "REINDEX DATABASE {db};\n",
        "REINDEX SYSTEM {db};\n",
        "PRAGMA synchronous = OFF;\n",
    ],
)
def test_more_statements_a_transaction_cannot_hold_are_layout_errors(
    transactional_db: Db, sqldir: Path, cli: Any, refused: str
) -> None:
    """Each is refused by the database inside a transaction ('cannot run inside a transaction
    block', 'Safety level may not be changed inside a transaction'): found before anything
    runs, with the advice to add no-transaction, rather than failing the file half-way."""
    db = transactional_db
    statement = refused.format(db=db.parsed.database)
    if statement.startswith("PRAGMA") != (db.dialect == "sqlite"):
        return  # the other dialect's statement
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT);\n", "DROP TABLE t;\n")
    write_migration(sqldir, "0002_x", f"INSERT INTO t VALUES (1);\n{statement}", "SELECT 1;\n")
    result = cli("up", "--url", db.url)
    assert result.code == 2, result.out + result.err
    assert f"0002_x/up.sql:2:1: {db.dialect} refuses" in result.err and "no-transaction" in result.err
    assert db.versions() == []
    write_migration(sqldir, "0002_x", f"-- migrator: no-transaction\n{statement}", "SELECT 1;\n")
    result = cli("up", "--url", db.url)
    assert result.code == 0, result.out + result.err
    assert db.versions() == [(1, "applied"), (2, "applied")]


def test_postgres_runs_a_file_saved_with_lone_cr_line_endings(
    postgres_db: Db, sqldir: Path, cli: Any
) -> None:
    """postgres ends a `--` comment at a lone CR (old Mac line endings) as at LF: the statements
    after the comment line run, as psql runs them; they are never taken for one long comment
    and the version recorded as applied with nothing run."""
    write_migration(
        sqldir,
        "0001_cr",
        "-- the table\rCREATE TABLE t (id INT);\r-- and a row\rINSERT INTO t VALUES (1);\r",
        "DROP TABLE t;\r",
    )
    result = cli("up", "--url", postgres_db.url)
    assert result.code == 0, result.out + result.err
    assert "(0001_cr/up.sql, transaction, 2 statements)" in result.out
    assert postgres_db.query("SELECT id FROM t") == [(1,)]


@pytest.mark.dialect_only("sqlite")
def test_sqlite_finds_its_version_table_whatever_the_case_of_its_name(
    tmp_path: Path, sqldir: Path, cli: Any
) -> None:
    """sqlite names ignore case: the table `up --table Schema_Version` made is the one
    `--table schema_version` names. status must not call that database empty, nor up try to
    create the table again."""
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    url = f"sqlite:///{tmp_path / 'app.db'}"
    assert cli("up", "--table", "Schema_Version", "--url", url).code == 0
    status = cli("status", "--table", "schema_version", "--url", url)
    assert status.code == 0 and "current version: 1" in status.out, status.out + status.err
    again = cli("up", "--table", "SCHEMA_VERSION", "--url", url)
    assert again.code == 0 and "nothing to do" in again.out, again.out + again.err


@pytest.mark.parametrize(
    "header", ["", "-- migrator: no-transaction\n"], ids=["transaction", "no-transaction"]
)
def test_postgres_discard_all_is_refused_because_it_releases_the_run_lock(
    postgres_db: Db, sqldir: Path, cli: Any, header: str
) -> None:
    """DISCARD ALL drops the session's advisory locks, migrator's included: in a no-transaction
    file another run would start meanwhile (and take this one for killed)."""
    write_migration(sqldir, "0001_d", f"{header}DISCARD ALL;\nCREATE TABLE t (id INT);\n")
    result = cli("up", "--url", postgres_db.url)
    assert result.code == 2, result.out + result.err
    assert "DISCARD ALL also releases migrator's lock" in result.err
    assert postgres_db.tables() == set()


def test_a_down_sql_that_manages_its_own_transaction_stops_up_before_the_database(
    db: Db, sqldir: Path, cli: Any
) -> None:
    """The layout error is found by `up` too, not first during a rollback: exit 2, nothing
    written (no sqlite file either). mysql runs a DDL file statement by statement."""
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "BEGIN;\nDROP TABLE a;\nCOMMIT;\n")
    result = cli("up", "--url", db.url)
    if db.dialect == "mysql":
        assert result.code == 0, result.err
        return
    assert result.code == 2, result.out + result.err
    assert "0001_a/down.sql:1:1: the file manages its own transaction (BEGIN)" in result.err
    assert "no-transaction" in result.err
    if db.dialect == "sqlite":
        assert not Path(db.parsed.database).exists()
    else:
        assert db.tables() == set()
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "VACUUM;\nDROP TABLE a;\n")
    result = cli("up", "--url", db.url)
    assert result.code == 2 and "refuses VACUUM inside a transaction" in result.err


def test_no_transaction_file_runs_statement_by_statement(db: Db, sqldir: Path, cli: Any) -> None:
    special = {
        "sqlite": "VACUUM;\n",
        "postgres": "CREATE INDEX CONCURRENTLY idx_t ON t (id);\n",
        "mysql": "CREATE INDEX idx_t ON t (id);\n",
    }[db.dialect]
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT);\n", "DROP TABLE t;\n")
    write_migration(sqldir, "0002_index", "-- migrator: no-transaction\n" + special, "SELECT 1;\n")
    result = cli("up", "--url", db.url)
    assert result.code == 0, result.err
    assert db.versions() == [(1, "applied"), (2, "applied")]
    if db.dialect == "postgres":
        assert db.query("SELECT indexname FROM pg_indexes WHERE tablename = 't'") == [("idx_t",)]


def test_failed_no_transaction_file_is_recorded_failed_on_every_dialect(
    db: Db, sqldir: Path, cli: Any
) -> None:
    write_migration(
        sqldir,
        "0001_nt",
        "-- migrator: no-transaction\nCREATE TABLE a (id INT);\nSELECT * FROM no_such_table;\n",
    )
    result = cli("up", "--url", db.url)
    assert result.code == 1
    assert db.versions() == [(1, "failed")]
    assert "a" in db.tables()
    blocked = cli("up", "--url", db.url)
    assert blocked.code == 3
    assert "statement 1 of 2 committed" in blocked.err


def test_status_json(db: Db, example_sql: Path, cli: Any) -> None:
    assert cli("up", "--to", "2", "--url", db.url).code == 0
    result = cli("status", "--json", "--url", db.url)
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["current_version"] == 2
    assert doc["pending"] == [3, 4]
    assert [v["state"] for v in doc["versions"]] == ["applied", "applied", "pending", "pending"]
    assert cli("status", "--exit-code", "--url", db.url).code == 5


def test_status_on_a_new_database_creates_nothing(db: Db, example_sql: Path, cli: Any) -> None:
    result = cli("status", "--url", db.url)
    assert result.code == 0, result.err
    assert "current version: none" in result.out
    assert "pending: 4" in result.out
    assert db.tables() == set()


def test_history_json_lists_every_event(db: Db, example_sql: Path, cli: Any) -> None:
    assert cli("up", "--to", "1", "--url", db.url).code == 0
    assert cli("down", "--yes", "--url", db.url).code == 0
    doc = json.loads(cli("history", "--json", "--url", db.url).out)
    assert [(e["action"], e["version"], e["outcome"]) for e in doc["events"]] == [
        ("up", 1, "ok"),
        ("down", 1, "ok"),
    ]
    assert doc["events"][0]["performed_by"]


def test_json_timestamps_are_iso_utc_on_every_dialect(db: Db, example_sql: Path, cli: Any) -> None:
    """`applied_at` and `performed_at` read the same on sqlite (text), mysql (naive DATETIME)
    and postgres (timestamptz): ISO 8601 with its UTC offset, the moment the run happened."""
    from datetime import UTC, datetime, timedelta

    before = datetime.now(UTC) - timedelta(seconds=5)
    assert cli("up", "--to", "1", "--url", db.url).code == 0
    after = datetime.now(UTC) + timedelta(seconds=5)
    status = json.loads(cli("status", "--json", "--url", db.url).out)
    history = json.loads(cli("history", "--json", "--url", db.url).out)
    show = json.loads(cli("show", "1", "--json", "--url", db.url).out)
    stamps = [status["versions"][0]["applied_at"], history["events"][0]["performed_at"], show["applied_at"]]
    for stamp in stamps:
        assert "T" in stamp and stamp.endswith("+00:00"), stamps
        assert before <= datetime.fromisoformat(stamp) <= after, stamps
    assert stamps[0] == stamps[2]


def test_show_prints_effective_sql_and_state(db: Db, example_sql: Path, cli: Any) -> None:
    assert cli("up", "--to", "1", "--url", db.url).code == 0
    result = cli("show", "1", "--json", "--url", db.url)
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["state"] == "applied"
    assert doc["up"]["file"] in ("0001_initial_schema/up.sql", f"{db.dialect}/0001_initial_schema/up.sql")
    assert "request_logs" in doc["up"]["sql"]
    seed_alias = cli("show-migration", "--version", "1", "--url", db.url)
    assert seed_alias.code == 0 and "request_logs" in seed_alias.out


def test_seed_vocabulary_aliases(db: Db, example_sql: Path, cli: Any) -> None:
    assert cli("migrate", "--version", "2", "--url", db.url).code == 0
    assert [v for v, _ in db.versions()] == [1, 2]
    pending = cli("pending", "--url", db.url)
    assert pending.code == 0 and "0003_add_webhook_support" in pending.out
    assert cli("rollback", "--yes", "--url", db.url).code == 0
    assert [v for v, _ in db.versions()] == [1]


def test_verbose_prints_every_statement_with_its_duration(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\nINSERT INTO a VALUES (1);\n")
    result = cli("up", "-v", "--url", db.url)
    assert result.code == 0, result.err
    assert "[1/2] 0001_a/up.sql:1 CREATE TABLE a (id INT)" in result.out
    assert "[2/2] 0001_a/up.sql:2 INSERT INTO a VALUES (1)" in result.out
    assert " ms)" in result.out


def test_custom_version_table_name(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n")
    assert cli("up", "--table", "my_versions", "--url", db.url).code == 0
    assert {"my_versions", "my_versions_history", "a"} <= db.tables()
    assert "schema_version" not in db.tables()


_IDENTIFIER_LIMIT = {"postgres": 63, "mysql": 64}


def test_a_version_table_name_the_database_would_cut_short_is_refused(db: Db, sqldir: Path, cli: Any) -> None:
    """SPEC §2: postgres cuts names at 63 bytes (a 57+ character --table gave the table and its
    history one name), mysql refuses names over 64: a --table whose `<table>_history` would be
    longer is exit 2 before connecting; the longest name that fits works. sqlite has no limit,
    but reserves sqlite_*."""
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    limit = _IDENTIFIER_LIMIT.get(db.dialect)
    longest = "v" * (limit - len("_history") if limit else 300)
    result = cli("up", "--table", longest, "--url", db.url)
    assert result.code == 0, result.err
    assert {longest, longest + "_history", "a"} == db.tables()
    assert db.query(f"SELECT version, status FROM {longest}") == [(1, "applied")]
    refused_names = (
        [longest + "w", "w" * 100] if limit else ["sqlite_versions", "SQLite_Versions", "main.sqlite_x"]
    )
    for name in refused_names:
        refused = cli("up", "--table", name, "--url", db.url)
        assert refused.code == 2, (name, refused.out, refused.err)
        if limit:
            assert f"too long for {db.dialect}" in refused.err and f"{name}_history" in refused.err
        else:
            assert "reserves" in refused.err or "invalid version table name" in refused.err
    assert {longest, longest + "_history", "a"} == db.tables()


@pytest.mark.parametrize(
    ("url", "limit"), [("postgres://u@127.0.0.1:1/nodb", 63), ("mysql://u@127.0.0.1:1/nodb", 64)]
)
def test_a_project_with_repeatables_needs_room_for_the_repeatable_table_too(
    sqldir: Path, cli: Any, url: str, limit: int
) -> None:
    """`<table>_repeatable` exists once the project has repeatable migrations: then a name
    the database would cut short or refuse is exit 2 before connecting, as `_history` is."""
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n")
    (sqldir / "repeatable").mkdir()
    (sqldir / "repeatable" / "v.sql").write_text("CREATE OR REPLACE VIEW v AS SELECT 1 AS one;\n")
    name = "t" * (limit - len("_history"))  # its history table fits, its repeatable table does not
    for command in (["up"], ["up", "--dry-run"], ["validate"]):
        result = cli(*command, "--table", name, "--url", url)
        assert result.code == 2, (command, result.out, result.err)
        assert "too long for" in result.err and f"{name}_repeatable" in result.err


@pytest.mark.parametrize(
    "url", ["postgres://u@127.0.0.1:1/nodb", "mysql://u@127.0.0.1:1/nodb", "sqlite:///app.db"]
)
def test_a_version_table_name_is_checked_before_connecting(sqldir: Path, cli: Any, url: str) -> None:
    """Exit 2 (config), not 4 (cannot connect): no server listens on port 1, and no sqlite
    file appears. From the flag, the environment and the config file alike."""
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n")
    name = "sqlite_versions" if url.startswith("sqlite") else "t" * 60
    expected = "reserves" if url.startswith("sqlite") else "too long for"
    (sqldir.parent / "pyproject.toml").write_text(f'[tool.migrator]\ntable = "{name}"\n')
    for how in ({"args": ("--table", name)}, {"env": {"MIGRATOR_TABLE": name}}, {}):
        result = cli("up", *how.get("args", ()), "--url", url, env=how.get("env"))
        assert result.code == 2, (how, result.out, result.err)
        assert expected in result.err
    assert not (sqldir.parent / "app.db").exists()


@pytest.mark.parametrize(
    ("url", "table"),
    [
        ("postgres://u@127.0.0.1:1/nodb", "t" * 56),
        ("mysql://u@127.0.0.1:1/nodb", "t" * 57),
        ("sqlite:///app.db", "sqlite_stat9"),
    ],
)
def test_the_library_refuses_the_same_version_table_names(tmp_path: Path, url: str, table: str) -> None:
    from migrator import Migrator
    from migrator.errors import ConfigError

    with pytest.raises(ConfigError):
        Migrator(url=url, directory=tmp_path, table=table)


def test_mysqldump_style_lock_tables_and_use_run_cleanly(mysql_db: Db, sqldir: Path, cli: Any) -> None:
    db = mysql_db
    db.execute("DROP DATABASE IF EXISTS mt_other_db")
    db.execute("CREATE DATABASE mt_other_db")
    try:
        write_migration(
            sqldir,
            "0001_dump",
            "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n"
            "CREATE TABLE lt (a INT);\nLOCK TABLES lt WRITE;\n"
            "INSERT INTO lt VALUES (1);\nUNLOCK TABLES;\n"
            "LOCK TABLES lt WRITE;\nINSERT INTO lt VALUES (2);\n",  # left locked
            "DROP TABLE lt;\n",
        )
        write_migration(
            sqldir,
            "0002_use",
            "USE mt_other_db;\nCREATE TABLE elsewhere (a INT);\n",
            "DROP TABLE mt_other_db.elsewhere;\n",
        )
        write_migration(sqldir, "0003_here", "CREATE TABLE here_t (a INT);\n", "DROP TABLE here_t;\n")
        result = cli("up", "--url", db.url)
        assert result.code == 0, result.err
        assert db.versions() == [(1, "applied"), (2, "applied"), (3, "applied")]
        assert db.query("SELECT a FROM lt ORDER BY a") == [(1,), (2,)]
        assert "here_t" in db.tables()  # the USE of 0002 did not leak into 0003
    finally:
        db.execute("DROP DATABASE IF EXISTS mt_other_db")


def test_schema_qualified_version_table(server_db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    result = cli("up", "--table", "mig_ns.versions", "--url", server_db.url)
    if server_db.dialect == "mysql":
        assert result.code == 2 and "only for postgres" in result.err
        return
    assert result.code == 0, result.err  # the schema is created with the table
    assert server_db.query("SELECT version, status FROM mig_ns.versions") == [(1, "applied")]
    assert "versions" not in server_db.tables()  # not in public


_SLOW_INSERT = {
    "postgres": "INSERT INTO slow (a) SELECT 1 FROM pg_sleep(0.3);\n",
    "mysql": "INSERT INTO slow (a) SELECT SLEEP(0.3);\n",  # a plain file: sent in one round trip
}


def test_execution_time_and_applied_at_cover_the_statements(server_db: Db, sqldir: Path, cli: Any) -> None:
    """A file sent with its bookkeeping in one round trip still records how long its
    statements took (the server measures it) and when they finished."""
    db = server_db
    write_migration(
        sqldir, "0001_slow", "CREATE TABLE slow (a INT);\n" + _SLOW_INSERT[db.dialect], "DROP TABLE slow;\n"
    )
    assert cli("up", "--url", db.url).code == 0
    ((ms, applied_at),) = db.query("SELECT execution_ms, applied_at FROM schema_version")
    ((logged, started),) = db.query("SELECT execution_ms, performed_at FROM schema_version_history")
    assert ms >= 280 and logged >= 280, (ms, logged)
    assert (applied_at - started).total_seconds() >= 0.28, (started, applied_at)  # when it finished


def test_a_no_transaction_file_that_opens_its_own_transaction_fails_cleanly(
    db: Db, sqldir: Path, cli: Any
) -> None:
    """The file's own transaction is rolled back before the failure is recorded: the row says
    `failed` (not an interrupted `running`), and the message says what was undone."""
    begin = "START TRANSACTION" if db.dialect == "mysql" else "BEGIN"
    write_migration(
        sqldir,
        "0001_own_tx",
        "-- migrator: no-transaction\n"
        "CREATE TABLE own (a INT);\n"
        f"{begin};\n"
        "INSERT INTO own (a) VALUES (1);\n"
        "INSERT INTO no_such_table (a) VALUES (2);\n"
        "COMMIT;\n",
        "DROP TABLE own;\n",
    )
    r = cli("up", "--url", db.url)
    assert r.code == 1, r.err
    assert "statement: 4 of 5" in r.err
    assert "statement 1 of 5 committed and stay" in r.err
    assert "the transaction the file opened itself (statement 2) was rolled back" in r.err
    assert db.query("SELECT COUNT(*) FROM own") == [(0,)]
    assert db.query("SELECT status, failed_statement FROM schema_version") == [("failed", 4)]
    assert db.query("SELECT action, outcome FROM schema_version_history") == [("up", "failed")]


def test_a_failed_create_index_concurrently_names_the_invalid_index_to_drop(
    postgres_db: Db, sqldir: Path, cli: Any
) -> None:
    """postgres only: CONCURRENTLY exists nowhere else. Its failure is not rolled back."""
    db = postgres_db
    write_migration(
        sqldir, "0001_t", "CREATE TABLE t (a INT);\nINSERT INTO t VALUES (1), (1);\n", "DROP TABLE t;\n"
    )
    write_migration(
        sqldir,
        "0002_idx",
        "-- migrator: no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_a ON t (a);\n",
        "-- migrator: no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS t_a;\n",
    )
    r = cli("up", "--url", db.url)
    assert r.code == 1
    assert (
        "a failed CREATE INDEX CONCURRENTLY leaves the index t_a behind, INVALID; drop it "
        "(DROP INDEX CONCURRENTLY IF EXISTS t_a) before running the file again"
    ) in r.err
    assert db.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_a'::regclass") == [(False,)]


def test_non_atomic_files_are_named_by_the_dry_run_and_not_repeated_by_every_run(
    db: Db, sqldir: Path, cli: Any
) -> None:
    """Issue 16 item 20: the warning helps before deploying (the dry run names each file);
    said again by every run of the same files on every database, it was noise."""
    for v in range(1, 6):
        write_migration(
            sqldir,
            f"000{v}_t{v}",
            f"-- migrator: no-transaction\nCREATE TABLE t{v} (a INT);\nCREATE INDEX t{v}_a ON t{v} (a);\n",
            f"DROP TABLE t{v};\n",
        )
    dry = cli("up", "--dry-run", "--json", "--url", db.url)
    assert dry.code == 0
    assert len(json.loads(dry.out)["warnings"]) == 5  # JSON keeps one per file
    text = cli("up", "--dry-run", "--url", db.url).out
    for v in range(1, 6):
        assert (
            f"-- warning: 000{v}_t{v}/up.sql: not atomic: 2 statements run one by one and DDL "
            "commits at once; if one fails, the ones before it stay applied"
        ) in text
    r = cli("up", "--url", db.url)
    assert r.code == 0, r.err
    assert "not atomic" not in r.out + r.err and "applied 5 versions in " in r.out
    assert [v for v, _ in db.versions()] == [1, 2, 3, 4, 5]


def test_the_time_a_person_takes_to_confirm_a_rollback_is_not_the_runs(db: Db, sqldir: Path) -> None:
    import time

    from migrator import Migrator

    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    m = Migrator(db.url, sqldir)
    m.up()

    def slow_yes(todo: list[Any]) -> bool:
        time.sleep(1.5)
        return True

    result = m.down(confirm=slow_yes)
    assert result.versions == [1]
    assert result.elapsed_ms < 1000, result.elapsed_ms


def _scripts(db: Db, monkeypatch: Any) -> list[list[Any]]:
    """Every script the dialect is given to run, step by step."""
    from migrator.dialects import open_dialect

    cls = type(open_dialect(db.parsed))
    real = cls.run_script
    scripts: list[list[Any]] = []

    def spy(self: Any, steps: Any, state: Any, **kw: Any) -> None:
        steps = list(steps)
        scripts.append(steps)
        real(self, steps, state, **kw)

    monkeypatch.setattr(cls, "run_script", spy)
    return scripts


def _sent_statements(db: Db, monkeypatch: Any) -> list[str]:
    """Every statement sqlite's dialect executes, in order (it runs scripts step by step)."""
    from migrator.dialects import open_dialect

    cls = type(open_dialect(db.parsed))
    real_execute = cls.execute
    sent: list[str] = []

    def spy(self: Any, sql: str, params: tuple[Any, ...] = ()) -> int:
        sent.append(f"{sql} {params!r}" if params else sql)
        return real_execute(self, sql, params)

    monkeypatch.setattr(cls, "execute", spy)
    return sent


def test_only_the_last_file_of_a_run_waits_for_the_disk(db: Db, sqldir: Path, monkeypatch: Any) -> None:
    from migrator import Migrator
    from migrator.script import Begin

    for i in (1, 2, 3):
        write_migration(sqldir, f"000{i}_t{i}", f"CREATE TABLE t{i} (id INT);\n", f"DROP TABLE t{i};\n")
    scripts = _scripts(db, monkeypatch)
    m = Migrator(db.url, sqldir)
    assert m.up().versions == [1, 2, 3]
    begins = [[s.durable for s in script if isinstance(s, Begin)] for script in scripts]
    if db.dialect == "mysql":  # DDL: each file is bracketed; its closing writes commit durably
        assert all(all(b) for b in begins), begins
    else:
        assert begins == [[False], [False], [True]]
    assert db.versions() == [(1, "applied"), (2, "applied"), (3, "applied")]
    scripts.clear()
    assert m.down(0).versions == [3, 2, 1]
    if db.dialect != "mysql":
        assert [[s.durable for s in script if isinstance(s, Begin)] for script in scripts] == [
            [False],
            [False],
            [True],
        ]
    assert db.versions() == []


def test_sqlite_in_wal_mode_relaxes_only_the_transactions_a_later_commit_flushes(
    tmp_path: Path, sqldir: Path, monkeypatch: Any
) -> None:
    from migrator import Migrator

    db = Db("sqlite", f"sqlite:///{tmp_path / 'wal.db'}", tmp_path)
    db.execute("PRAGMA journal_mode = WAL")  # a property of the file; DELETE mode relaxes nothing
    for i in (1, 2, 3):
        write_migration(sqldir, f"000{i}_t{i}", f"CREATE TABLE t{i} (id INT);\n")
    sent = _sent_statements(db, monkeypatch)
    assert Migrator(db.url, sqldir).up().versions == [1, 2, 3]
    where = [i for i, s in enumerate(sent) if s == "PRAGMA synchronous = NORMAL"]
    assert len(where) == 2, sent  # files 1 and 2, not the last one
    assert where[-1] < sent.index("CREATE TABLE t2 (id INT)") < sent.index("CREATE TABLE t3 (id INT)")
    assert sent.count("PRAGMA synchronous = 2") == 2  # back to FULL after each


def test_a_rollback_journal_sqlite_database_waits_for_the_disk_on_every_file(
    tmp_path: Path, sqldir: Path, monkeypatch: Any
) -> None:
    """synchronous=NORMAL in DELETE/TRUNCATE/PERSIST mode can corrupt on power loss: never."""
    from migrator import Migrator

    db = Db("sqlite", f"sqlite:///{tmp_path / 'journal.db'}", tmp_path)
    for i in (1, 2, 3):
        write_migration(sqldir, f"000{i}_t{i}", f"CREATE TABLE t{i} (id INT);\n")
    sent = _sent_statements(db, monkeypatch)
    assert Migrator(db.url, sqldir).up().versions == [1, 2, 3]
    assert not any("synchronous" in s.lower() for s in sent), sent
    assert db.query("PRAGMA journal_mode") == [("delete",)]


def _bracketed(i: int) -> tuple[str, str]:
    """A file that runs outside one transaction on every dialect, with its undo."""
    return (
        f"-- migrator: no-transaction\nCREATE TABLE t{i} (id INT);\nINSERT INTO t{i} VALUES (1);\n",
        f"-- migrator: no-transaction\nDROP TABLE t{i};\n",
    )


class _InterruptAt:
    """A reporter that is Ctrl-C'd as file `version` is about to start."""

    def __init__(self, version: int) -> None:
        self.version = version

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kw: None

    def file_started(self, pf: Any) -> None:
        if pf.version == self.version:
            raise KeyboardInterrupt


def test_ctrl_c_between_files_leaves_the_next_version_untouched(db: Db, sqldir: Path) -> None:
    """Its `running` row was already committed with the file before: Ctrl-C before any of
    its statements is sent puts the row back (up: no row; down: applied as it was)."""
    import pytest

    from migrator import Migrator

    for i in (1, 2, 3):
        write_migration(sqldir, f"000{i}_t{i}", *_bracketed(i))
    with pytest.raises(KeyboardInterrupt):
        Migrator(db.url, sqldir, reporter=_InterruptAt(2)).up()
    assert db.versions() == [(1, "applied")]
    assert "t2" not in db.tables()

    assert Migrator(db.url, sqldir).up().versions == [2, 3]
    before = db.query(
        "SELECT version, status, operation, statements_done, statements_total "
        "FROM schema_version ORDER BY version"
    )
    with pytest.raises(KeyboardInterrupt):
        Migrator(db.url, sqldir, reporter=_InterruptAt(2)).down(0)
    assert db.versions() == [(1, "applied"), (2, "applied")]
    assert (
        db.query(
            "SELECT version, status, operation, statements_done, statements_total "
            "FROM schema_version ORDER BY version"
        )
        == before[:2]
    )
    assert Migrator(db.url, sqldir).down(0).versions == [2, 1]  # nothing blocks: no stray row


def test_a_sqlite_wal_run_stopped_early_still_flushes_what_it_committed(
    tmp_path: Path, sqldir: Path, monkeypatch: Any
) -> None:
    """Files 1 and 2 committed without an fsync (the last file would have flushed them):
    Ctrl-C before file 3 must not leave them only in the page cache."""
    import os

    import pytest

    from migrator import Migrator

    db = Db("sqlite", f"sqlite:///{tmp_path / 'wal.db'}", tmp_path)
    db.execute("PRAGMA journal_mode = WAL")
    for i in (1, 2, 3):
        write_migration(sqldir, f"000{i}_t{i}", f"CREATE TABLE t{i} (id INT);\n")
    synced: list[str] = []
    real_fsync = os.fsync

    def spy_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    with pytest.raises(KeyboardInterrupt):
        Migrator(db.url, sqldir, reporter=_InterruptAt(3)).up()
    assert synced == [f"{tmp_path / 'wal.db'}-wal"]
    assert db.versions() == [(1, "applied"), (2, "applied")]


def test_a_file_edited_after_discovery_runs_as_it_was_checksummed(db: Db, sqldir: Path) -> None:
    """What runs, and what the version table stores, is the text the recorded checksum covers,
    even when the file changes on disk between discovery and its turn to run."""
    from migrator import Migrator
    from migrator.checksum import checksum_text

    up = "CREATE TABLE first_text (id INT);\n"
    folder = write_migration(sqldir, "0001_a", up, "DROP TABLE first_text;\n")
    m = Migrator(db.url, sqldir)
    assert m.migrations()[0].up.checksum == checksum_text(up)
    (folder / "up.sql").write_text("CREATE TABLE second_text (id INT);\n")
    (folder / "down.sql").write_text("DROP TABLE second_text;\n")

    assert m.up().versions == [1]
    assert {"first_text", "second_text"} & db.tables() == {"first_text"}
    row = db.query("SELECT checksum, up_sql, down_sql FROM schema_version WHERE version = 1")
    assert row == [(checksum_text(up), up, "DROP TABLE first_text;\n")]


def test_a_file_in_any_language_is_kept_whatever_the_databases_character_set(
    db: Db, sqldir: Path, cli: Any
) -> None:
    """migrator's tables hold each file's text: on mysql they are utf8mb4 (and InnoDB) even in a
    database whose default character set is latin1, as many older ones are."""
    if db.dialect == "mysql":
        db.execute(f"ALTER DATABASE `{db.parsed.database}` CHARACTER SET latin1 COLLATE latin1_swedish_ci")
    up = "-- 日本語のコメント, Ελληνικά, emoji 🚀\nCREATE TABLE a (x INT);\nINSERT INTO a VALUES (1);\n"
    write_migration(sqldir, "0001_a", up, "DROP TABLE a;\n")
    r = cli("up", "--url", db.url)
    assert r.code == 0, r.out + r.err
    assert db.query("SELECT up_sql FROM schema_version") == [(up,)]
    if db.dialect == "mysql":
        options = db.query(
            "SELECT table_name, engine, table_collation FROM information_schema.tables "
            f"WHERE table_schema = '{db.parsed.database}' AND table_name LIKE 'schema_version%' ORDER BY 1"
        )
        assert [(n, e, c.split("_")[0]) for n, e, c in options] == [
            ("schema_version", "InnoDB", "utf8mb4"),
            ("schema_version_history", "InnoDB", "utf8mb4"),
        ]
