"""SPEC §12: callback files, `sql/callbacks/<event>.sql`, run at their point of an `up` or
`down`; before_each/after_each inside the versioned file's transaction where it has one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import Db, write_migration


def _log(event: str) -> str:
    """A statement that appends `event` to cb_log in order (no autoincrement needed)."""
    return f"INSERT INTO cb_log (n, event) SELECT COUNT(*) + 1, '{event}' FROM cb_log;\n"


def _callback(sqldir: Path, event: str, text: str) -> None:
    (sqldir / "callbacks").mkdir(exist_ok=True)
    (sqldir / "callbacks" / f"{event}.sql").write_text(text, encoding="utf-8")


def _events(db: Db) -> list[str]:
    return [r[0] for r in db.query("SELECT event FROM cb_log ORDER BY n")]


def test_callbacks_run_in_order_around_the_files_and_the_repeatables(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(
        sqldir, "0001_a", "CREATE TABLE a (id INT);\n" + _log("up 1"), "DROP TABLE a;\n" + _log("down 1")
    )
    write_migration(sqldir, "0002_b", _log("up 2"), _log("down 2"))
    (sqldir / "repeatable").mkdir()
    (sqldir / "repeatable" / "r.sql").write_text(_log("repeatable"))
    _callback(
        sqldir,
        "before_up",
        "CREATE TABLE IF NOT EXISTS cb_log (n INT, event VARCHAR(40));\n" + _log("before_up"),
    )
    for event in ("before_each", "after_each", "after_up", "before_down", "after_down"):
        _callback(sqldir, event, _log(event))
    _callback(sqldir, "before_each_down", _log("before_each_down"))
    _callback(sqldir, "after_each_down", _log("after_each_down"))

    up = cli("up", "--url", db.url)
    assert up.code == 0, up.err
    assert _events(db) == [
        "before_up",
        "before_each",
        "up 1",
        "after_each",
        "before_each",
        "up 2",
        "after_each",
        "repeatable",
        "after_up",
    ]
    assert "ran callback before_up (callbacks/before_up.sql)" in up.out
    assert db.versions() == [(1, "applied"), (2, "applied")]
    # not recorded as versions; an up with nothing to do still runs before_up and after_up
    again = cli("up", "--url", db.url)
    assert again.code == 0 and "nothing to do" in again.out, again.err
    assert _events(db)[-2:] == ["before_up", "after_up"]

    down = cli("down", "--to", "1", "--yes", "--url", db.url)
    assert down.code == 0, down.err
    assert _events(db)[-5:] == ["before_down", "before_each_down", "down 2", "after_each_down", "after_down"]
    assert db.versions() == [(1, "applied")]


def test_a_failing_before_each_stops_before_the_file_and_rolls_itself_back(
    db: Db, sqldir: Path, cli: Any
) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    _callback(sqldir, "before_up", "CREATE TABLE IF NOT EXISTS cb_log (n INT, event VARCHAR(40));\n")
    _callback(sqldir, "before_each", _log("before_each") + "SELECT nope FROM no_such_table;\n")
    result = cli("up", "--url", db.url)
    assert result.code == 1, result.out
    assert "callbacks/before_each.sql:2:" in result.err and "no_such_table" in result.err
    assert "callback before_each" in result.err and "Traceback" not in result.err
    assert "a" not in db.tables()
    assert db.versions() == []
    assert _events(db) == []  # its first statement rolled back with it (data only: on mysql too)


def test_each_callbacks_share_the_file_transaction_where_it_has_one(db: Db, sqldir: Path, cli: Any) -> None:
    """postgres, sqlite: an after_each that fails rolls back the file and its before_each.
    mysql: DDL commits at once, so the callbacks run on their own around the file."""
    write_migration(
        sqldir, "0001_log", "CREATE TABLE cb_log (n INT, event VARCHAR(40));\n", "DROP TABLE cb_log;\n"
    )
    assert cli("up", "--url", db.url).code == 0
    write_migration(sqldir, "0002_a", "CREATE TABLE a (id INT);\n" + _log("up 2"), "DROP TABLE a;\n")
    _callback(sqldir, "before_each", _log("before_each"))
    _callback(sqldir, "after_each", "SELECT nope FROM no_such_table;\n")
    result = cli("up", "--url", db.url)
    assert result.code == 1, result.out
    assert "callbacks/after_each.sql:1:" in result.err
    if db.dialect == "mysql":
        assert _events(db) == ["before_each", "up 2"]
        assert db.versions() == [(1, "applied"), (2, "applied")]
    else:
        assert "callback after_each of version 2 (0002_a)" in result.err
        assert "the whole file was rolled back" in result.err
        assert _events(db) == []
        assert "a" not in db.tables()
        assert db.versions() == [(1, "applied")]


def test_after_error_runs_once_outside_the_failed_file(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(
        sqldir, "0001_log", "CREATE TABLE cb_log (n INT, event VARCHAR(40));\n", "DROP TABLE cb_log;\n"
    )
    write_migration(sqldir, "0002_bad", _log("up 2") + "SELECT nope FROM no_such_table;\n")
    write_migration(sqldir, "0003_later", _log("up 3"))
    _callback(sqldir, "after_error", _log("after_error"))
    _callback(sqldir, "after_up", _log("after_up"))
    result = cli("up", "--url", db.url)
    assert result.code == 1, result.out
    assert "version 2 (0002_bad)" in result.err and "0002_bad/up.sql:2:" in result.err
    assert "note: the after_error callback ran (callbacks/after_error.sql)" in result.err
    # once; after_up never ran; the failed file rolled back whole (data only: atomic on mysql too)
    assert _events(db) == ["after_error"]
    assert db.versions()[0] == (1, "applied")

    _callback(sqldir, "after_error", "SELECT nope FROM also_missing;\n")
    again = cli("up", "--json", "--url", db.url)
    assert again.code == 1
    assert "note: the after_error callback failed too" in again.err and "also_missing" in again.err
    doc = json.loads(again.out)
    assert doc["error"]["file"] == "0002_bad/up.sql"
    assert any("after_error callback failed too" in n for n in doc["error"]["notes"])


def test_an_unknown_callback_event_is_a_layout_error(sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n")
    _callback(sqldir, "afterMigrate", "SELECT 1;\n")
    result = cli("up", "--url", "sqlite:///app.db")
    assert result.code == 2, result.out
    assert "callbacks/afterMigrate.sql: 'afterMigrate' is not a callback event" in result.err
    assert "before_up, after_up, before_each, after_each" in result.err and "after_error" in result.err
    assert not (sqldir.parent / "app.db").exists()


def test_dry_run_lists_the_callbacks_and_writes_nothing(sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n")
    _callback(sqldir, "before_up", "SELECT 1;\n")
    _callback(sqldir, "after_each", "SELECT 2;\n")
    _callback(sqldir, "after_error", "SELECT 3;\n")
    plan = cli("up", "--dry-run", "--url", "sqlite:///app.db")
    assert plan.code == 0, plan.err
    assert "-- callback before_up: callbacks/before_up.sql" in plan.out
    assert "-- runs after each version, inside its transaction where it has one" in plan.out
    assert "-- callback after_error: callbacks/after_error.sql (no-transaction" in plan.out
    doc = json.loads(cli("up", "--dry-run", "--json", "--url", "sqlite:///app.db").out)
    assert [(p["direction"], p["name"]) for p in doc["plan"]] == [
        ("callback", "before_up"),
        ("callback", "after_each"),
        ("up", "0001_a"),
        ("callback", "after_error"),
    ]


# the before_each callback sets a session value; each file records what its session sees
_TAG = {
    "postgres": ("SET application_name = 'cb_tag';\n", "current_setting('application_name')"),
    "mysql": ("SET @cb_tag = 'cb_tag';\n", "@cb_tag"),
    "sqlite": (
        "CREATE TEMP TABLE IF NOT EXISTS cb_tag AS SELECT 'cb_tag' AS tag;\n",
        "(SELECT tag FROM temp.cb_tag)",
    ),
}


def test_what_before_each_sets_reaches_its_file_on_every_path(db: Db, sqldir: Path, cli: Any) -> None:
    """`SET ROLE` before each file: its session settings are the file's, also for a file that
    runs without a transaction after another one did (the session reset comes before the
    callback, never between it and its file)."""
    setter, reader = _TAG[db.dialect]
    write_migration(sqldir, "0001_log", "CREATE TABLE seen (v INT, tag VARCHAR(40));\n", "DROP TABLE seen;\n")
    for v in (2, 3):
        write_migration(
            sqldir,
            f"000{v}_nt",
            f"-- migrator: no-transaction\nINSERT INTO seen SELECT {v}, {reader};\n",
            "SELECT 1;\n",
        )
    write_migration(sqldir, "0004_tx", f"INSERT INTO seen SELECT 4, {reader};\n", "SELECT 1;\n")
    _callback(sqldir, "before_up", "SELECT 1;\n")
    _callback(sqldir, "before_each", setter)
    result = cli("up", "--url", db.url)
    assert result.code == 0, result.out + result.err
    assert db.query("SELECT v, tag FROM seen ORDER BY v") == [(2, "cb_tag"), (3, "cb_tag"), (4, "cb_tag")]


def test_a_callback_no_transaction_can_hold_runs_after_the_file_commits(
    db: Db, sqldir: Path, cli: Any
) -> None:
    """A callback that says no-transaction (VACUUM) is not forced into the file's transaction;
    on mysql a callback with DDL, which commits at once, never runs inside a data-only file's
    transaction: its failure leaves that version applied and says so, never 'rolled back'."""
    write_migration(sqldir, "0001_a", "CREATE TABLE a (x INT);\n", "DROP TABLE a;\n")
    assert cli("up", "--url", db.url).code == 0
    write_migration(sqldir, "0002_b", "INSERT INTO a VALUES (1);\n", "DELETE FROM a;\n")
    if db.dialect == "mysql":
        _callback(
            sqldir, "after_each", "CREATE TABLE IF NOT EXISTS audit (x INT);\nSELECT nope FROM missing;\n"
        )
        result = cli("up", "--url", db.url)
        assert result.code == 1, result.out + result.err
        assert "callback after_each of version 2 (0002_b) failed" in result.err
        assert "the versions run before it stay done: 2" in result.err
        assert "rolled back" not in result.err
        assert db.versions() == [(1, "applied"), (2, "applied")]
    else:
        _callback(sqldir, "after_each", "-- migrator: no-transaction\nVACUUM;\n")
        result = cli("up", "--url", db.url)
        assert result.code == 0, result.out + result.err
        assert db.versions() == [(1, "applied"), (2, "applied")]
    assert db.query("SELECT x FROM a") == [(1,)]


def test_dry_run_says_a_no_transaction_callback_runs_on_its_own(sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n")
    _callback(sqldir, "after_each", "-- migrator: no-transaction\nVACUUM;\n")
    plan = cli("up", "--dry-run", "--url", "sqlite:///app.db")
    assert plan.code == 0, plan.err
    assert (
        "-- runs after each version, on its own: it cannot run inside the version's transaction" in plan.out
    )


def test_set_role_in_before_each_owns_the_files_never_the_bookkeeping(
    postgres_db: Db, sqldir: Path, cli: Any
) -> None:
    """`SET ROLE` before each file (postgres): the files run as the role, which has no right
    on the version table; migrator's own writes and reads run as the user it connected as, and
    a role a file SET does not leak into the next file (RESET ALL keeps the role)."""
    import uuid

    db, role = postgres_db, f"mt_role_{uuid.uuid4().hex[:8]}"
    db.execute(f"CREATE ROLE {role} NOLOGIN")
    try:
        db.execute(f"GRANT CREATE, USAGE ON SCHEMA public TO {role}")
        write_migration(sqldir, "0001_a", "CREATE TABLE a (x INT);\n", "DROP TABLE a;\n")
        write_migration(sqldir, "0002_b", "CREATE TABLE b (x INT);\n", "DROP TABLE b;\n")
        _callback(sqldir, "before_each", f"SET ROLE {role};\n")
        up = cli("up", "--url", db.url)
        assert up.code == 0, up.out + up.err
        owners = "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        assert db.query(owners) == [
            ("a", role),
            ("b", role),
            ("schema_version", "postgres"),
            ("schema_version_history", "postgres"),
        ]
        assert db.versions() == [(1, "applied"), (2, "applied")]

        (sqldir / "callbacks" / "before_each.sql").unlink()
        write_migration(sqldir, "0003_c", f"SET ROLE {role};\nCREATE TABLE c (x INT);\n", "DROP TABLE c;\n")
        write_migration(sqldir, "0004_d", "CREATE TABLE d (x INT);\n", "DROP TABLE d;\n")
        more = cli("up", "--url", db.url)
        assert more.code == 0, more.out + more.err
        assert [r for r in db.query(owners) if r[0] in ("c", "d")] == [("c", role), ("d", "postgres")]
    finally:
        db.execute(f"DROP OWNED BY {role}")
        db.execute(f"DROP ROLE {role}")
