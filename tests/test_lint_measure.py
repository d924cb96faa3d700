"""`lint --measure` (SPEC §11): what each statement really locked and rewrote, on a scratch
database, checked against the databases' own documentation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migrator import Migrator
from migrator.dialects import StatementError, open_dialect
from migrator.errors import MigrationFailedError, ScratchDatabaseError
from migrator.lexer import Statement
from migrator.lint.engine import merge
from migrator.lint.measure import excerpt, measure_for, rewritten, statement_end
from migrator.lint.model import ERROR, Finding, LintReport, Lock, Measured
from migrator.urls import parse_url
from tests.conftest import Db, _create_scratch, _server_url, run_cli, write_migration

# -- pure parts: no database ---------------------------------------------------------------


def test_a_table_with_a_new_identity_since_the_file_began_is_rewritten() -> None:
    assert rewritten({"t": 1, "u": 5}, {"t": 1, "u": 5}, {"t": 2, "u": 5}) == ["t"]


def test_a_table_recreated_under_its_name_is_rewritten_at_the_rename() -> None:
    # sqlite's 12 steps: t_new on page 9, t dropped, t_new renamed to t
    before_rename = {"t_new": 9}
    assert rewritten({"t": 2}, before_rename, {"t": 9}) == ["t"]


def test_a_table_the_file_created_or_already_rewrote_is_not_rewritten_again() -> None:
    assert rewritten({}, {}, {"new": 4}) == []
    assert rewritten({"t": 1}, {"t": 2}, {"t": 2}) == []


def test_a_long_statement_is_kept_as_an_excerpt_on_one_line() -> None:
    short = excerpt("ALTER TABLE t\n   ADD COLUMN b int")
    assert short == "ALTER TABLE t ADD COLUMN b int"
    long = excerpt("SELECT " + "x, " * 200 + "y")
    assert len(long) == 300 and long.endswith("…")


def _finding(rule: str, line: int, column: int = 1) -> Finding:
    return Finding(rule, ERROR, "postgres", 2, "0002_x/up.sql", line, column, "ALTER ...", "why", "how")


def test_a_finding_gets_the_measurement_of_the_statement_it_points_into() -> None:
    # `SELECT 1; ALTER TABLE t ALTER COLUMN a TYPE bigint ...` over lines 1 to 3
    first = Measured(2, "postgres", "0002_x/up.sql", 1, "SELECT 1", (), (), 1.0, column=1, end=(1, 8))
    locks = (Lock("t", "AccessExclusiveLock"),)
    alter = Measured(
        2, "postgres", "0002_x/up.sql", 1, "ALTER ...", locks, ("t",), 1.0, column=11, end=(3, 20)
    )
    on_alter, on_select = _finding("column-type-rewrite", 1, 11), _finding("column-type-rewrite", 1, 1)
    report = merge(LintReport(findings=[on_alter, on_select]), [first, alter])
    assert on_alter.locks == [Lock("t", "AccessExclusiveLock")] and on_alter.rewrites == ["t"]
    assert on_alter.measured_note == "" and on_alter.severity == ERROR
    assert on_select.rewrites == [] and on_select.measured_note != ""  # the SELECT rewrote nothing
    assert [m["line"] for m in report.to_dict()["measured"]] == [1, 1]


def test_a_statement_ends_at_its_last_character() -> None:
    assert statement_end(Statement("SELECT 1", 2, 3, 0)) == (2, 10)
    assert statement_end(Statement("ALTER TABLE t\n  ADD b int", 3, 5, 0)) == (4, 11)


# -- postgres: the lock each statement takes, as the documentation's lock table says -------
# https://www.postgresql.org/docs/current/explicit-locking.html, 13.3.1 "Table-Level Locks"
# (the strongest mode the statement takes on the table; weaker ones may come with it)
_STRENGTH = [
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
]
_SETUP = """
CREATE TABLE parent (id INT PRIMARY KEY);
CREATE TABLE t (id INT PRIMARY KEY, a INT, parent_id INT);
CREATE TABLE dropme (id INT);
CREATE TABLE truncme (id INT);
CREATE MATERIALIZED VIEW mv AS SELECT id FROM parent;
CREATE UNIQUE INDEX mv_id ON mv (id);
CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
"""
# (statement, {table: documented mode}); each in a version of its own, in this order
PG_LOCK_TABLE = [
    ("SELECT * FROM t", {"t": "AccessShareLock"}),
    ("SELECT * FROM t FOR UPDATE", {"t": "RowShareLock"}),
    ("INSERT INTO parent (id) VALUES (1)", {"parent": "RowExclusiveLock"}),
    ("INSERT INTO t (id, a, parent_id) VALUES (1, 1, 1)", {"t": "RowExclusiveLock"}),
    ("UPDATE t SET a = 2", {"t": "RowExclusiveLock"}),
    ("DELETE FROM t WHERE id = 0", {"t": "RowExclusiveLock"}),
    ("ANALYZE t", {"t": "ShareUpdateExclusiveLock"}),
    ("CREATE STATISTICS t_stats ON a, parent_id FROM t", {"t": "ShareUpdateExclusiveLock"}),
    ("ALTER TABLE t ALTER COLUMN a SET STATISTICS 200", {"t": "ShareUpdateExclusiveLock"}),
    ("ALTER TABLE t SET (fillfactor = 70)", {"t": "ShareUpdateExclusiveLock"}),
    ("COMMENT ON TABLE t IS 'orders'", {"t": "ShareUpdateExclusiveLock"}),
    ("CREATE INDEX t_a ON t (a)", {"t": "ShareLock"}),
    (
        "ALTER TABLE t ADD CONSTRAINT t_parent FOREIGN KEY (parent_id) REFERENCES parent (id) NOT VALID",
        {"t": "ShareRowExclusiveLock", "parent": "ShareRowExclusiveLock"},
    ),
    (
        "ALTER TABLE t VALIDATE CONSTRAINT t_parent",
        {"t": "ShareUpdateExclusiveLock", "parent": "RowShareLock"},
    ),
    (
        "CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION noop()",
        {"t": "ShareRowExclusiveLock"},
    ),
    ("ALTER TABLE t DISABLE TRIGGER t_touch", {"t": "ShareRowExclusiveLock"}),
    ("REFRESH MATERIALIZED VIEW CONCURRENTLY mv", {"mv": "ExclusiveLock"}),
    ("REFRESH MATERIALIZED VIEW mv", {"mv": "AccessExclusiveLock"}),
    ("LOCK TABLE t IN SHARE ROW EXCLUSIVE MODE", {"t": "ShareRowExclusiveLock"}),
    ("LOCK TABLE t IN EXCLUSIVE MODE", {"t": "ExclusiveLock"}),
    ("ALTER TABLE t ADD COLUMN b int", {"t": "AccessExclusiveLock"}),
    ("ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0", {"t": "AccessExclusiveLock"}),
    ("ALTER TABLE t ALTER COLUMN a SET NOT NULL", {"t": "AccessExclusiveLock"}),
    ("ALTER TABLE t RENAME COLUMN b TO b2", {"t": "AccessExclusiveLock"}),
    ("ALTER TABLE t ALTER COLUMN a TYPE bigint", {"t": "AccessExclusiveLock"}),
    ("ALTER TABLE t ADD COLUMN d timestamptz DEFAULT clock_timestamp()", {"t": "AccessExclusiveLock"}),
    ("TRUNCATE truncme", {"truncme": "AccessExclusiveLock"}),
    ("DROP TABLE dropme", {"dropme": "AccessExclusiveLock"}),
]
_FIRST = 2  # version of PG_LOCK_TABLE[0]; version 1 is the setup


def _measure_folder(
    url: str, sqldir: Path, versions: set[int] | None, scratch_url: str | None = None
) -> list[Measured]:
    return measure_for(Migrator(url, sqldir), versions, scratch_url)


@pytest.fixture(scope="module")
def pg_measured(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Measured]:
    sqldir = tmp_path_factory.mktemp("pg_lock_table") / "sql"
    write_migration(sqldir, "0001_setup", _SETUP)
    for i, (statement, _) in enumerate(PG_LOCK_TABLE, _FIRST):
        write_migration(sqldir, f"{i:04d}_case", statement + ";\n")
    versions = set(range(_FIRST, _FIRST + len(PG_LOCK_TABLE)))
    found = _measure_folder(_server_url("postgres"), sqldir, versions)
    return {m.version: m for m in found}


def _strongest(m: Measured, table: str) -> str:
    modes = [lock.mode for lock in m.locks if lock.table == table]
    return max(modes, key=_STRENGTH.index) if modes else "(no lock)"


@pytest.mark.dialect_only("postgres")
@pytest.mark.parametrize(("number", "case"), list(enumerate(PG_LOCK_TABLE, _FIRST)), ids=lambda v: str(v))
def test_postgres_measured_lock_is_the_documented_one(
    pg_measured: dict[int, Measured], number: int, case: tuple[str, dict[str, str]]
) -> None:
    statement, documented = case
    m = pg_measured[number]
    assert m.statement == statement and m.dialect == "postgres" and m.ms >= 0
    assert {table: _strongest(m, table) for table in documented} == documented


@pytest.mark.dialect_only("postgres")
def test_postgres_lock_names_leave_out_the_catalog_and_migrators_own_tables(
    pg_measured: dict[int, Measured],
) -> None:
    tables = {lock.table for m in pg_measured.values() for lock in m.locks}
    assert tables and not any(t.startswith(("pg_", "schema_version")) for t in tables)


@pytest.mark.dialect_only("postgres")
def test_postgres_rewrites_are_the_tables_that_got_a_new_relfilenode(
    pg_measured: dict[int, Measured],
) -> None:
    by_statement = {m.statement: m.rewrites for m in pg_measured.values()}
    assert by_statement["ALTER TABLE t ALTER COLUMN a TYPE bigint"] == ("t",)
    assert by_statement["ALTER TABLE t ADD COLUMN d timestamptz DEFAULT clock_timestamp()"] == ("t",)
    assert by_statement["REFRESH MATERIALIZED VIEW mv"] == ("mv",)
    assert by_statement["ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0"] == ()
    assert by_statement["ALTER TABLE t ADD COLUMN b int"] == ()
    assert by_statement["CREATE INDEX t_a ON t (a)"] == ()


@pytest.mark.dialect_only("postgres")
def test_postgres_locks_are_listed_with_the_statement_that_took_them(postgres_db: Db, sqldir: Path) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT PRIMARY KEY, a INT);\n")
    write_migration(
        sqldir,
        "0002_two",
        "INSERT INTO t (id, a) VALUES (1, 1);\n"
        "ALTER TABLE t ADD COLUMN b int;\n"
        "ALTER TABLE t ADD COLUMN c int;\n",
    )
    first, second, third = _measure_folder(postgres_db.url, sqldir, {2})
    assert first.locks == (Lock("t", "RowExclusiveLock"),)
    assert (first.line, second.line, third.line) == (1, 2, 3)
    assert second.locks == (Lock("t", "AccessExclusiveLock"),)
    assert third.locks == ()  # held since the statement before, until commit: it waits for nothing


@pytest.mark.dialect_only("postgres")
def test_postgres_locks_on_relations_the_file_creates_are_left_out(postgres_db: Db, sqldir: Path) -> None:
    write_migration(sqldir, "0001_parent", "CREATE TABLE parent (id INT PRIMARY KEY);\n")
    write_migration(
        sqldir,
        "0002_child",
        "CREATE TABLE child (id INT PRIMARY KEY, parent_id INT REFERENCES parent (id));\n"
        "CREATE INDEX child_parent ON child (parent_id);\n",
    )
    create, index = _measure_folder(postgres_db.url, sqldir, {2})
    # no other session sees child before commit; the foreign key locks parent, which they see
    assert {lock.table for lock in create.locks} == {"parent", "parent_pkey"}
    assert _strongest(create, "parent") == "ShareRowExclusiveLock"
    assert index.locks == ()


@pytest.mark.dialect_only("postgres")
def test_postgres_concurrent_index_build_outside_a_transaction_is_watched(
    postgres_db: Db, sqldir: Path
) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT PRIMARY KEY, a INT);\n")
    no_transaction = "-- migrator: no-transaction\n"
    write_migration(sqldir, "0002_cic", no_transaction + "CREATE INDEX CONCURRENTLY t_a ON t (a);\n")
    write_migration(sqldir, "0003_dic", no_transaction + "DROP INDEX CONCURRENTLY t_a;\n")
    write_migration(sqldir, "0004_vacuum", no_transaction + "VACUUM FULL t;\n")
    build, drop, vacuum = _measure_folder(postgres_db.url, sqldir, {2, 3, 4})
    # the lock table: CREATE INDEX CONCURRENTLY and DROP INDEX CONCURRENTLY take SHARE UPDATE
    # EXCLUSIVE on the table (reads and writes go on); never SHARE, which blocks writes
    assert _strongest(build, "t") == "ShareUpdateExclusiveLock" and build.rewrites == ()
    assert _strongest(drop, "t") == "ShareUpdateExclusiveLock"
    assert (build.line, drop.line) == (2, 2)
    # VACUUM FULL writes a new copy of the table, under ACCESS EXCLUSIVE
    assert vacuum.rewrites == ("t",) and _strongest(vacuum, "t") == "AccessExclusiveLock"


# -- mysql: rebuilds and how online an ALTER TABLE can run ----------------------------------


@pytest.mark.dialect_only("mysql")
def test_mysql_online_probe_and_rebuilds(mysql_db: Db, sqldir: Path) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT PRIMARY KEY, a INT) ENGINE=InnoDB;\n")
    write_migration(
        sqldir,
        "0002_alter",
        "ALTER TABLE t ADD COLUMN b INT;\n"
        "ALTER TABLE t MODIFY a BIGINT;\n"
        "ALTER TABLE t ADD INDEX t_b (b);\n"
        "ALTER TABLE t ADD COLUMN c INT, ALGORITHM=COPY;\n"
        "INSERT INTO t (id, a, b) VALUES (1, 1, 1);\n"
        "ALTER TABLE t MODIFY b BIGINT -- a trailing comment must not swallow the probe\n;\n",
    )
    instant, modify, index, chosen, insert, commented = _measure_folder(mysql_db.url, sqldir, {2})
    assert (commented.online, commented.rewrites) == ("COPY", ("t",))
    assert (instant.online, instant.rewrites) == ("INSTANT", ())
    assert (modify.online, modify.rewrites) == ("COPY", ("t",))
    assert (index.online, index.rewrites) == ("INPLACE, LOCK=NONE", ())
    assert (chosen.online, chosen.rewrites) == ("", ("t",))  # its own ALGORITHM: not probed
    assert (insert.online, insert.rewrites) == ("", ())
    assert all(m.locks == () for m in (instant, modify, index, chosen, insert))
    # every statement ran exactly once on the scratch database: none failed on a duplicate


# -- sqlite: a table re-created by the 12-step pattern ------------------------------------


@pytest.mark.dialect_only("sqlite")
def test_sqlite_twelve_step_alter_rewrites_the_table_and_add_column_does_not(
    tmp_path: Path, sqldir: Path
) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INTEGER PRIMARY KEY, a INT);\n")
    write_migration(
        sqldir,
        "0002_retype",
        "ALTER TABLE t ADD COLUMN b INT;\n"
        "CREATE TABLE t_new (id INTEGER PRIMARY KEY, a BIGINT NOT NULL, b INT);\n"
        "INSERT INTO t_new SELECT id, a, b FROM t;\n"
        "DROP TABLE t;\n"
        "ALTER TABLE t_new RENAME TO t;\n",
    )
    found = _measure_folder(f"sqlite:///{tmp_path / 'app.db'}", sqldir, {2})
    assert [m.rewrites for m in found] == [(), (), (), (), ("t",)]
    assert all(m.locks == () for m in found)  # sqlite locks the whole file, not a table
    assert not (tmp_path / "app.db").exists()  # the database at --url was never opened


# -- every dialect: the scratch database, never the one at --url ---------------------------


def test_measure_runs_on_a_scratch_database_and_leaves_url_untouched(db: Db, sqldir: Path) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT PRIMARY KEY);\n")
    write_migration(sqldir, "0002_u", "CREATE TABLE u (id INT);\nINSERT INTO t (id) VALUES (1);\n")
    found = _measure_folder(db.url, sqldir, None)
    assert [(m.version, m.file, m.line) for m in found] == [
        (1, "0001_t/up.sql", 1),
        (2, "0002_u/up.sql", 1),
        (2, "0002_u/up.sql", 2),
    ]
    assert all(m.dialect == db.dialect for m in found)
    d = open_dialect(parse_url(db.url))
    d.connect()
    try:
        assert not d.table_exists("t") and not d.table_exists("schema_version")
    finally:
        d.close()


def test_measure_uses_the_given_scratch_url_and_empties_it_afterwards(server_db: Db, sqldir: Path) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT PRIMARY KEY);\n")
    scratch = _create_scratch(server_db.dialect, server_db.tmp)
    given = next(scratch)
    try:
        found = _measure_folder(server_db.url, sqldir, None, scratch_url=given.url)
        assert [m.statement for m in found] == ["CREATE TABLE t (id INT PRIMARY KEY)"]
        d = open_dialect(parse_url(given.url))
        d.connect()  # it still exists, and is empty again
        try:
            assert not d.table_exists("t") and not d.table_exists("schema_version")
        finally:
            d.close()
    finally:
        scratch.close()


def test_a_statement_that_fails_on_the_scratch_database_says_so(db: Db, sqldir: Path) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT PRIMARY KEY);\n")
    write_migration(sqldir, "0002_bad", "CREATE TABLE u (id INT);\nINSERT INTO missing VALUES (1);\n")
    with pytest.raises(MigrationFailedError) as caught:
        _measure_folder(db.url, sqldir, {2})
    failure = caught.value.failure
    assert (failure.path, failure.line, failure.statement_index, failure.statement_count) == (
        "0002_bad/up.sql",
        2,
        2,
        2,
    )
    assert "missing" in failure.db_message
    assert "scratch database, which is thrown away" in str(caught.value)
    assert "the database at --url was not touched" in str(caught.value)


def test_measure_applies_earlier_versions_without_measuring_them(db: Db, sqldir: Path) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT PRIMARY KEY);\n")
    write_migration(sqldir, "0002_ins", "INSERT INTO t (id) VALUES (1);\n")
    write_migration(sqldir, "0003_u", "CREATE TABLE u (id INT);\n")
    write_migration(sqldir, "0004_later", "CREATE TABLE later (id INT);\n")
    found = _measure_folder(db.url, sqldir, {2})
    assert [(m.version, m.statement) for m in found] == [(2, "INSERT INTO t (id) VALUES (1)")]
    # a version between two measured ones is applied as up applies it
    found = _measure_folder(db.url, sqldir, {1, 3})
    assert [m.version for m in found] == [1, 3]


def test_a_catalog_read_the_scratch_database_refuses_is_not_blamed_on_the_file(
    db: Db, sqldir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT PRIMARY KEY);\n")
    dialect = type(open_dialect(parse_url(db.url)))
    reads = iter([{}])  # the read before the file works, the one after its statement is refused

    def refused(self: object) -> dict[str, object]:
        for found in reads:
            return found
        raise StatementError("permission denied for information_schema", code="42501")

    monkeypatch.setattr(dialect, "table_identities", refused)
    with pytest.raises(ScratchDatabaseError) as caught:
        _measure_folder(db.url, sqldir, None)
    assert caught.value.message == (
        "the scratch database refused migrator's own work: permission denied for information_schema [42501]"
    )


# -- the command: lint --measure ------------------------------------------------------------


def test_lint_measure_lists_what_each_pending_statement_did_and_leaves_url_untouched(
    db: Db, sqldir: Path
) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT PRIMARY KEY, a INT);\n")
    write_migration(sqldir, "0002_drop", "ALTER TABLE t DROP COLUMN a;\n")
    r = run_cli("lint", "--measure", "--url", db.url, "--dir", str(sqldir), "--json", cwd=db.tmp)
    doc = json.loads(r.out)
    assert r.code == 3 and doc["ok"] is False, r.err  # drop-column is an error
    assert [(m["version"], m["file"], m["line"], m["dialect"]) for m in doc["measured"]] == [
        (1, "0001_t/up.sql", 1, db.dialect),
        (2, "0002_drop/up.sql", 1, db.dialect),
    ]
    drop = next(f for f in doc["findings"] if f["rule"] == "drop-column")
    measured = doc["measured"][1]
    assert (drop["locks"], drop["rewrites"]) == (measured["locks"], measured["rewrites"])
    d = open_dialect(parse_url(db.url))
    d.connect()
    try:
        assert not d.table_exists("t") and not d.table_exists("schema_version")
    finally:
        d.close()


@pytest.mark.dialect_only("postgres")
def test_lint_measure_text_says_what_the_statement_held_and_rewrote(postgres_db: Db, sqldir: Path) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT PRIMARY KEY, a INT);\n")
    write_migration(sqldir, "0002_retype", "ALTER TABLE t ALTER COLUMN a TYPE bigint;\n")
    url = postgres_db.url
    # version 1 applied on the real database: only version 2 is pending, and measured
    applied = run_cli("up", "--to", "1", "--url", url, "--dir", str(sqldir), cwd=postgres_db.tmp)
    assert applied.code == 0, applied.err
    r = run_cli("lint", "--measure", "--url", url, "--dir", str(sqldir), cwd=postgres_db.tmp)
    assert r.code in (0, 3), r.err
    assert (
        "measured 0002_retype/up.sql:1 (postgres, version 2, " in r.out
        and "held AccessExclusiveLock on t, t_pkey; ShareLock on t until commit, rewrote t" in r.out
    ), r.out
    assert "0001_t/up.sql" not in r.out.split("measured", 1)[1]
    assert postgres_db.query("SELECT data_type FROM information_schema.columns WHERE column_name = 'a'") == [
        ("integer",)
    ]


def test_lint_scratch_url_without_measure_is_a_usage_error(tmp_path: Path, sqldir: Path) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT);\n")
    url = f"sqlite:///{tmp_path / 'app.db'}"
    r = run_cli("lint", "--url", url, "--scratch-url", f"sqlite:///{tmp_path / 's.db'}", cwd=tmp_path)
    assert (r.code, r.out) == (2, "")
    assert "error: --scratch-url is for lint --measure" in r.err and "hint: add --measure" in r.err
