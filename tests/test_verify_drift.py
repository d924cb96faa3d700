"""verify (SPEC §6.1), drift and the schema file (SPEC §9), backups (SPEC §7), as the CLI runs them."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import Db, _create_scratch, write_migration


def _scratch_databases(db: Db) -> set[str]:
    if db.dialect == "postgres":
        return {
            r[0] for r in db.query("SELECT datname FROM pg_database WHERE datname LIKE 'migrator_scratch_%'")
        }
    if db.dialect == "mysql":
        return {r[0] for r in db.query("SHOW DATABASES LIKE 'migrator\\_scratch\\_%'")}
    return set()


def test_example_verifies_clean_and_never_touches_the_target(db: Db, example_sql: Path, cli: Any) -> None:
    before = _scratch_databases(db)
    result = cli("verify", "--json", "--url", db.url)
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert [(v["version"], v["outcome"]) for v in doc["versions"]] == [
        (1, "ok"),
        (2, "ok"),
        (3, "ok"),
        (4, "ok"),
    ]
    assert db.tables() == set()  # the target stays empty
    # the scratch database was dropped (other tests' verify runs may come and go meanwhile)
    deadline = time.monotonic() + 20
    while not _scratch_databases(db) <= before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _scratch_databases(db) <= before


BROKEN_DOWNS = {
    "forgotten index": ("CREATE INDEX idx_c ON t (c);\n", "SELECT 1;\n", "index idx_c on t"),
    "forgotten column": ("ALTER TABLE t ADD COLUMN extra INT;\n", "SELECT 1;\n", "column t.extra"),
}


def test_a_down_that_forgets_an_index_or_column_differs(db: Db, sqldir: Path, cli: Any) -> None:
    for label, (up, down, named) in BROKEN_DOWNS.items():
        for child in sorted(sqldir.glob("*/*")):
            child.unlink()
        for folder in sqldir.glob("*"):
            folder.rmdir()
        write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT, c VARCHAR(20));\n", "DROP TABLE t;\n")
        write_migration(sqldir, "0002_change", up, down)
        write_migration(sqldir, "0003_later", "CREATE TABLE later (id INT);\n", "DROP TABLE later;\n")
        result = cli("verify", "--url", db.url)
        assert result.code == 3, (label, result.out, result.err)
        assert named in result.out, (label, result.out)
        assert "present after down" in result.out
        assert "0003_later" not in result.out  # verify stops at the first difference


def test_a_down_that_recreates_a_column_with_another_type_differs(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT, c VARCHAR(20));\n", "DROP TABLE t;\n")
    alter = {
        "postgres": (
            "ALTER TABLE t ALTER COLUMN c TYPE VARCHAR(50);\n",
            "ALTER TABLE t ALTER COLUMN c TYPE VARCHAR(30);\n",
        ),
        "mysql": ("ALTER TABLE t MODIFY c VARCHAR(50);\n", "ALTER TABLE t MODIFY c VARCHAR(30);\n"),
        "sqlite": (
            "ALTER TABLE t DROP COLUMN c;\nALTER TABLE t ADD COLUMN c VARCHAR(50);\n",
            "ALTER TABLE t DROP COLUMN c;\nALTER TABLE t ADD COLUMN c VARCHAR(30);\n",
        ),
    }
    up, down = alter[db.dialect]
    write_migration(sqldir, "0002_widen", up, down)
    result = cli("verify", "--url", db.url)
    assert result.code == 3
    assert "column t.c" in result.out and "30" in result.out and "20" in result.out


def test_irreversible_versions_are_skipped_not_ok(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT);\n", "-- migrator: irreversible\nSELECT 1;\n")
    result = cli("verify", "--json", "--url", db.url)
    assert result.code == 0
    assert json.loads(result.out)["versions"] == [
        {"version": 1, "name": "0001_t", "outcome": "skipped", "differences": []}
    ]


def test_verify_exits_1_when_a_file_fails(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT);\n", "DROP TABLE nope;\n")
    result = cli("verify", "--url", db.url)
    assert result.code == 1
    assert "0001_t/down.sql" in result.err


def test_drift_reports_hand_made_changes_once_each(db: Db, example_sql: Path, cli: Any) -> None:
    assert cli("up", "--url", db.url).code == 0
    clean = cli("drift", "--url", db.url)
    assert clean.code == 0, clean.out + clean.err
    db.execute("CREATE INDEX idx_hotfix ON request_logs (method)")
    db.execute("DROP TABLE webhook_deliveries")
    result = cli("drift", "--json", "--url", db.url)
    assert result.code == 3
    doc = json.loads(result.out)
    differences = doc["differences"]
    # each object says the same as its line in `differences`, never "the right schema"
    assert [o["description"] for o in doc["objects"]] == differences
    assert sum("idx_hotfix" in d for d in differences) == 1
    assert any("idx_hotfix" in d and "in the database, not in the migrations" in d for d in differences)
    assert any(
        d.startswith("table webhook_deliveries") and "missing from the database" in d for d in differences
    )
    ignored = cli(
        "drift",
        "--ignore",
        "index:*hotfix",
        "--ignore",
        "table:webhook_*",
        "--ignore",
        "*:webhook_deliveries*",
        "--url",
        db.url,
    )
    assert "idx_hotfix" not in ignored.out


def test_drift_ignore_with_an_unknown_kind_is_a_config_error(
    db: Db, example_sql: Path, cli: Any, tmp_path: Path
) -> None:
    """`tabel:audit_*` would ignore nothing; exit 2 names it, before any scratch database."""
    assert cli("up", "--url", db.url).code == 0
    typo = cli("drift", "--ignore", "tabel:audit_*", "--url", db.url)
    assert typo.code == 2
    assert typo.err.startswith("error: drift ignore pattern 'tabel:audit_*': no kind of object is called")
    (tmp_path / "migrator.toml").write_text('ignore = ["widget:*"]\n')
    in_file = cli("drift", "--json", "--url", db.url)
    assert in_file.code == 2 and "'widget:*'" in json.loads(in_file.out)["error"]["message"]
    (tmp_path / "migrator.toml").write_text('ignore = ["tab*:audit_*", "audit_*", "*:tmp_*"]\n')
    assert cli("drift", "--url", db.url).code == 0


def test_schema_file_is_written_and_checked(db: Db, example_sql: Path, cli: Any) -> None:
    assert cli("up", "--url", db.url).code == 0
    assert cli("schema", "--write", "--url", db.url).code == 0
    path = example_sql / f"schema.{db.dialect}.txt"
    first = path.read_bytes()
    assert b"table request_logs" in first and b"schema_version" not in first
    written = cli("schema", "--write", "--json", "--url", db.url)  # one JSON document, as every command
    assert written.code == 0, written.err
    assert json.loads(written.out)["file"] == str(Path("sql") / f"schema.{db.dialect}.txt")
    assert path.read_bytes() == first  # deterministic
    assert cli("validate", "--schema-file", "--url", db.url).code == 0
    path.write_bytes(first.replace(b"request_logs", b"request_log", 1))
    stale = cli("validate", "--schema-file", "--url", db.url)
    assert stale.code == 3 and "schema --write" in stale.out


def test_backup_before_up_and_missing_tool_stops_before_anything(
    db: Db, example_sql: Path, cli: Any, tmp_path: Path
) -> None:
    empty_path = tmp_path / "empty-bin"
    empty_path.mkdir()
    if db.dialect != "sqlite":
        # with no dump tool on PATH the run stops before touching the database
        env = {"PATH": f"{empty_path}"}
        refused = cli("up", "--backup", "--url", db.url, env=env)
        assert refused.code == 2 and "--no-backup" in refused.err
        assert db.tables() == set()
        forced = cli("up", "--to", "1", "--backup", "--no-backup", "--url", db.url, env=env)
        assert forced.code == 2  # the two flags exclude each other
    result = cli("up", "--backup", "--backup-dir", "bk", "--url", db.url)
    assert result.code == 0, result.err
    files = os.listdir(tmp_path / "bk")
    assert len(files) == 1 and "_v1_" in files[0]


def test_ignoring_a_table_ignores_its_columns_and_indexes(db: Db, example_sql: Path, cli: Any) -> None:
    assert cli("up", "--url", db.url).code == 0
    db.execute("CREATE TABLE audit_x (id INT PRIMARY KEY, note VARCHAR(20))")
    db.execute("CREATE INDEX idx_audit_note ON audit_x (note)")
    assert cli("drift", "--url", db.url).code == 3
    ignored = cli("drift", "--ignore", "table:audit_*", "--url", db.url)
    assert ignored.code == 0, ignored.out


HAND_MADE = {
    # change name: (statement per dialect, words the report must contain)
    "widened column": (
        {
            "postgres": "ALTER TABLE mock_servers ALTER COLUMN name TYPE VARCHAR(500)",
            "mysql": "ALTER TABLE mock_servers MODIFY name VARCHAR(500) NOT NULL",
            "sqlite": None,
        },
        "column mock_servers.name",
    ),
    "changed default": (
        {
            "postgres": "ALTER TABLE mock_servers ALTER COLUMN status SET DEFAULT 'x'",
            "mysql": "ALTER TABLE mock_servers ALTER COLUMN status SET DEFAULT 'x'",
            "sqlite": None,
        },
        "column mock_servers.status",
    ),
    "extra trigger": (
        {
            "postgres": "CREATE FUNCTION f_hot() RETURNS trigger LANGUAGE plpgsql AS "
            "$$BEGIN RETURN NEW; END$$; CREATE TRIGGER trg_hot BEFORE "
            "INSERT ON webhooks FOR EACH ROW EXECUTE FUNCTION f_hot()",
            "mysql": "CREATE TRIGGER trg_hot BEFORE INSERT ON webhooks FOR EACH ROW SET NEW.name = NEW.name",
            "sqlite": "CREATE TRIGGER trg_hot AFTER INSERT ON webhooks BEGIN SELECT 1; END",
        },
        "trg_hot",
    ),
    "dropped foreign key": (
        {
            "postgres": "ALTER TABLE scenarios DROP CONSTRAINT fk_scenarios_server_id",
            "mysql": "ALTER TABLE scenarios DROP FOREIGN KEY fk_scenarios_server_id",
            "sqlite": None,
        },
        "fk_scenarios_server_id",
    ),
}


def test_each_hand_made_change_is_reported_once(db: Db, example_sql: Path, cli: Any) -> None:
    assert cli("up", "--url", db.url).code == 0
    for change, (statements, named) in HAND_MADE.items():
        sql = statements[db.dialect]
        if sql is None:
            continue  # sqlite cannot ALTER a column in place; the other dialects cover it
        db.execute(sql)
        result = cli("drift", "--json", "--url", db.url)
        assert result.code == 3, change
        differences = json.loads(result.out)["differences"]
        assert sum(named in d for d in differences) == 1, (change, differences)
        assert cli("down", "--to", "0", "--yes", "--url", db.url).code in (0, 1, 3)
        for table in (
            "webhook_deliveries",
            "webhooks",
            "scenarios",
            "request_logs",
            "mock_servers",
            "schema_version",
            "schema_version_history",
        ):
            db.execute(f"DROP TABLE IF EXISTS {table}")
        if db.dialect == "postgres":
            db.execute("DROP FUNCTION IF EXISTS f_hot()")
        assert cli("up", "--url", db.url).code == 0


def test_schema_file_check_fails_after_a_migration_is_added(db: Db, example_sql: Path, cli: Any) -> None:
    assert cli("up", "--url", db.url).code == 0
    assert cli("schema", "--write", "--url", db.url).code == 0
    write_migration(example_sql, "0005_more", "CREATE TABLE more_t (id INT);\n", "DROP TABLE more_t;\n")
    stale = cli("validate", "--schema-file", "--url", db.url)
    assert stale.code == 3
    assert "+table more_t" in stale.out


# -- scratch databases: who may create them, --scratch-url, what a failure says (issue 16) ------
@contextmanager
def _unprivileged_user(db: Db) -> Iterator[tuple[str, str]]:
    """A login that may read the database at db.url but not create databases: (name, its URL)."""
    u, name, password = db.parsed, f"np_{uuid.uuid4().hex[:10]}", "Np-secret-77"
    if db.dialect == "postgres":
        db.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{password}' NOCREATEDB")
        url = f"postgres://{name}:{password}@{u.host}:{u.port or 5432}/{u.database}"
    else:
        db.execute(f"CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'")
        db.execute(f"GRANT ALL ON `{u.database}`.* TO '{name}'@'%'")
        url = f"mysql://{name}:{password}@{u.host}:{u.port or 3306}/{u.database}"
    try:
        yield name, url
    finally:
        db.execute(
            f"DROP ROLE IF EXISTS {name}" if db.dialect == "postgres" else f"DROP USER IF EXISTS '{name}'@'%'"
        )


@contextmanager
def _database_for(db: Db, owner: str, tmp_path: Path) -> Iterator[str]:
    """An empty database next to db's, that `owner` may use fully: its URL (no password)."""
    with contextmanager(_create_scratch)(db.dialect, tmp_path / "given") as given:
        if db.dialect == "postgres":
            given.execute(f"GRANT ALL ON SCHEMA public TO {owner}")
        elif db.dialect == "mysql":
            given.execute(f"GRANT ALL ON `{given.parsed.database}`.* TO '{owner}'@'%'")
        try:
            yield given.parsed.database
        finally:
            if db.dialect == "postgres":
                given.execute(f"DROP OWNED BY {owner}")


def test_verify_and_drift_without_create_database_say_so_and_scratch_url_works(
    server_db: Db, sqldir: Path, cli: Any, tmp_path: Path
) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT);\n", "DROP TABLE t;\n")
    with _unprivileged_user(server_db) as (name, url):
        for command in ("verify", "drift"):
            result = cli(command, "--url", url)
            assert result.code == 2, (command, result.out, result.err)
            denied = (
                "permission denied to create database [42501]"
                if server_db.dialect == "postgres"
                else f"Access denied for user '{name}'@'%' to database 'migrator_scratch_"
            )
            assert "error: could not create a scratch database (migrator_scratch_" in result.err
            assert f"as user {name}: " in result.err and denied in result.err, result.err
            assert (
                "hint: give the database user the right to create and drop databases, or create an "
                "empty database once and pass it with --scratch-url URL (it is emptied after each "
                "run, never dropped)"
            ) in result.err
            assert "version table" not in result.err and "Traceback" not in result.err
            assert "Np-secret-77" not in result.out + result.err
        # the way out the hint gives: a database made once, used by every run
        with _database_for(server_db, name, tmp_path) as database:
            scratch = url.rsplit("/", 1)[0] + f"/{database}"
            for _ in range(2):
                result = cli("verify", "--url", url, "--scratch-url", scratch)
                assert result.code == 0, result.out + result.err
                assert "verify: every down.sql restores the schema (1 checked)" in result.out
                drift = cli("drift", "--url", url, "--scratch-url", scratch)
                assert drift.code == 0, drift.out + drift.err
    assert server_db.tables() == set()  # the target was never touched


def _given_scratch(db: Db, tmp_path: Path) -> Any:
    return contextmanager(_create_scratch)(db.dialect, tmp_path / "given")


def _still_there(given: Db) -> bool:
    """Does the database exist? (Asked without connecting: sqlite would create the file.)"""
    if given.dialect == "postgres":
        return bool(given.query(f"SELECT 1 FROM pg_database WHERE datname = '{given.parsed.database}'"))
    if given.dialect == "mysql":
        return bool(given.query(f"SHOW DATABASES LIKE '{given.parsed.database}'"))
    return Path(given.parsed.database).is_file()


def test_scratch_url_is_emptied_never_dropped_and_serves_every_run(
    db: Db, example_sql: Path, cli: Any, tmp_path: Path
) -> None:
    (tmp_path / "given").mkdir()
    with _given_scratch(db, tmp_path) as given:
        given.execute("CREATE TABLE probe (id INT)")  # sqlite: the file exists before the runs
        given.execute("DROP TABLE probe")
        assert cli("up", "--to", "2", "--url", db.url).code == 0
        for _ in range(2):
            result = cli("verify", "--url", db.url, "--scratch-url", given.url)
            assert result.code == 0, result.out + result.err
            assert "verify: every down.sql restores the schema (4 checked)" in result.out
            assert _still_there(given)  # never dropped
            assert given.tables() == set()  # emptied: the next run finds it empty
            drift = cli("drift", "--url", db.url, "--scratch-url", given.url)
            assert drift.code == 0, drift.out + drift.err
            assert _still_there(given)
            assert given.tables() == set()
        if db.dialect == "postgres":  # what an empty database had before stays
            assert given.query("SELECT nspname FROM pg_namespace WHERE nspname = 'public'")
            assert given.query("SELECT extname FROM pg_extension WHERE extname = 'plpgsql'")


def test_a_scratch_url_that_is_not_empty_is_refused_and_left_alone(
    db: Db, sqldir: Path, cli: Any, tmp_path: Path
) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT);\n", "DROP TABLE t;\n")
    (tmp_path / "given").mkdir()
    with _given_scratch(db, tmp_path) as given:
        given.execute("CREATE TABLE precious (id INT)")
        given.execute("INSERT INTO precious VALUES (1)")
        for command in ("verify", "drift"):
            result = cli(command, "--url", db.url, "--scratch-url", given.url)
            assert result.code == 2, result.out + result.err
            assert f"error: --scratch-url {given.url} is not empty: it holds table precious" in result.err
            assert "empty this one by hand first" in result.err
            assert given.query("SELECT id FROM precious") == [(1,)]


def test_a_failing_verify_speaks_of_the_scratch_database(
    db: Db, sqldir: Path, cli: Any, tmp_path: Path
) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT);\n", "DROP TABLE t;\n")
    write_migration(sqldir, "0002_u", "CREATE TABLE u (id INT);\n", "DROP TABLE u;\n")
    # statement 1 commits on mysql before statement 2 fails: once a `repair` in a gone database
    write_migration(sqldir, "0003_w", "CREATE TABLE w (id INT);\n", "DROP TABLE w;\nDROP TABLE nope;\n")
    (tmp_path / "given").mkdir()
    with _given_scratch(db, tmp_path) as given:
        for scratch in ((), ("--scratch-url", given.url)):
            result = cli("verify", "--url", db.url, *scratch)
            assert result.code == 1, result.out + result.err
            # the versions checked before the failure are reported
            assert result.out.splitlines() == ["     1  0001_t: ok", "     2  0002_u: ok"], result.out
            assert "error: version 3 (0003_w) down failed" in result.err
            assert "0003_w/down.sql:2:1" in result.err
            assert (
                "  this ran on the scratch database, which is thrown away after the run: the "
                "database at --url was not touched and nothing needs a repair\n"
                "hint: fix 0003_w/down.sql so that it runs on an empty database, then run the "
                "command again\n"
            ) in result.err
            assert "repair 3" not in result.err and "stay applied" not in result.err
            assert db.tables() == set()
            if scratch:
                assert _still_there(given)
                assert given.tables() == set()  # emptied after a failure too
        as_json = cli("verify", "--url", db.url, "--json")
        assert as_json.code == 1, as_json.out + as_json.err
        doc = json.loads(as_json.out)
        assert [(v["version"], v["outcome"]) for v in doc["versions"]] == [(1, "ok"), (2, "ok")], doc
        assert doc["ok"] is False and doc["exit_code"] == 1 and doc["error"]["version"] == 3
        (sqldir / "0003_w" / "down.sql").write_text("DROP TABLE w;\n", encoding="utf-8")
        again = cli("verify", "--url", db.url, "--scratch-url", given.url)
        assert again.code == 0, again.out + again.err


def test_skipped_versions_are_not_counted_as_checked(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT);\n", "DROP TABLE t;\n")
    write_migration(sqldir, "0002_u", "CREATE TABLE u (id INT);\n", "-- migrator: irreversible\n")
    result = cli("verify", "--url", db.url)
    assert result.code == 0, result.out + result.err
    assert result.out.splitlines() == [
        "     1  0001_t: ok",
        "     2  0002_u: skipped (irreversible)",
        "verify: every down.sql restores the schema (1 checked, 1 skipped: irreversible)",
    ]


def test_verify_from_or_to_a_version_that_does_not_exist_is_a_usage_error(sqldir: Path, cli: Any) -> None:
    """As `up --to 9` is: "0 checked" and exit 0 would pass a CI job that checked nothing."""
    write_migration(sqldir, "0001_a", "CREATE TABLE a (x INT);\n", "DROP TABLE a;\n")
    write_migration(sqldir, "0002_b", "CREATE TABLE b (x INT);\n", "DROP TABLE b;\n")
    url = ("--url", "sqlite:///app.db")
    missing = cli("verify", "--from", "9", *url)
    assert missing.code == 2, missing.out + missing.err
    assert "verify --from 9: there is no version 9" in missing.err
    assert cli("verify", "--to", "7", *url).code == 2
    backwards = cli("verify", "--from", "2", "--to", "1", *url)
    assert backwards.code == 2 and "--from is after --to" in backwards.err
    assert cli("verify", "--from", "2", "--to", "2", *url).code == 0
