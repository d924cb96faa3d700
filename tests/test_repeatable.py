"""SPEC §12: repeatable migrations, `sql/repeatable/<name>.sql`, run after the versioned files
whenever their checksum differs from the one last applied."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from migrator.checksum import checksum_text
from tests.conftest import Db, write_migration

VIEW = "DROP VIEW IF EXISTS v;\nCREATE VIEW v AS SELECT a * {n} AS a FROM t;\n"


def _project(sqldir: Path, view_factor: int = 10) -> Path:
    write_migration(
        sqldir, "0001_t", "CREATE TABLE t (a INT);\nINSERT INTO t VALUES (1);\n", "DROP TABLE t;\n"
    )
    (sqldir / "repeatable").mkdir(exist_ok=True)
    path = sqldir / "repeatable" / "views.sql"
    path.write_text(VIEW.format(n=view_factor), encoding="utf-8")
    return path


def _repeatable_events(db: Db) -> list[tuple[Any, ...]]:
    return db.query(
        "SELECT name, outcome FROM schema_version_history WHERE action = 'repeatable' ORDER BY id"
    )


def test_a_repeatable_runs_once_then_again_only_after_an_edit(db: Db, sqldir: Path, cli: Any) -> None:
    view = _project(sqldir)
    first = cli("up", "--url", db.url)
    assert first.code == 0, first.err
    assert "applied 1 version and 1 repeatable migration (views)" in first.out
    assert db.query("SELECT a FROM v") == [(10,)]
    stored = db.query("SELECT name, checksum, applied_by FROM schema_version_repeatable")
    assert [(n, c) for n, c, _ in stored] == [("views", checksum_text(view.read_text()))]
    assert stored[0][2]  # who applied it

    again = cli("up", "--url", db.url)
    assert again.code == 0 and "nothing to do" in again.out, again.out
    assert _repeatable_events(db) == [("views", "ok")]

    view.write_text(VIEW.format(n=100), encoding="utf-8")
    status = cli("status", "--exit-code", "--url", db.url)
    assert status.code == 5, status.out
    assert "repeatable: 1 changed" in status.out and "views (repeatable/views.sql)" in status.out
    validate = cli("validate", "--url", db.url)
    assert validate.code == 0, validate.out
    assert "pending: repeatable views (repeatable/views.sql): changed since it was applied" in validate.out

    edited = cli("up", "--url", db.url)
    assert edited.code == 0, edited.err
    assert "applied 1 repeatable migration (views)" in edited.out
    assert db.query("SELECT a FROM v") == [(100,)]
    assert _repeatable_events(db) == [("views", "ok"), ("views", "ok")]
    assert "repeatable" in cli("history", "--url", db.url).out
    assert cli("status", "--exit-code", "--url", db.url).code == 0


def test_line_endings_alone_do_not_run_a_repeatable_again(db: Db, sqldir: Path, cli: Any) -> None:
    view = _project(sqldir)
    assert cli("up", "--url", db.url).code == 0
    view.write_bytes(VIEW.format(n=10).replace("\n", "\r\n").encode() + b"  \r\n\r\n")
    status = cli("status", "--exit-code", "--url", db.url)
    assert status.code == 0 and "repeatable: all applied" in status.out, status.out
    again = cli("up", "--url", db.url)
    assert again.code == 0 and "nothing to do" in again.out, again.out
    assert _repeatable_events(db) == [("views", "ok")]


def test_a_failing_repeatable_fails_the_run_after_the_versions(db: Db, sqldir: Path, cli: Any) -> None:
    """Exit 1 with the usual report; version 1 stays applied; the repeatable stays pending;
    where the dialect can roll back, nothing of the failing file stays."""
    _project(sqldir)
    broken = sqldir / "repeatable" / "broken.sql"
    broken.write_text(
        "CREATE TABLE made_by_it (x INT);\nINSERT INTO made_by_it VALUES (1);\n"
        "SELECT nope FROM missing_table;\n",
        encoding="utf-8",
    )
    result = cli("up", "--url", db.url)
    assert result.code == 1, result.out + result.err
    assert "repeatable broken failed" in result.err
    assert "repeatable/broken.sql:3:1" in result.err and "statement: 3 of 3" in result.err
    assert "missing_table" in result.err and "Traceback" not in result.err
    assert "it stays pending and runs again on the next `up`" in result.err
    assert db.versions() == [(1, "applied")]
    # repeatables run in name order: broken before views, and the run stops at broken
    assert db.query("SELECT name FROM schema_version_repeatable") == []
    assert _repeatable_events(db) == [("broken", "failed")]
    if db.dialect == "mysql":  # DDL commits at once: said, not hidden
        assert "made_by_it" in db.tables()
        assert "statements 1-2 of 3 committed and stay" in result.err
    else:
        assert "made_by_it" not in db.tables()
        assert "the whole file was rolled back" in result.err
    status = cli("status", "--exit-code", "--url", db.url)
    assert status.code == 5 and "repeatable: 2 changed" in status.out, status.out

    broken.write_text(
        "DROP TABLE IF EXISTS made_by_it;\nCREATE TABLE made_by_it (x INT);\n", encoding="utf-8"
    )
    fixed = cli("up", "--url", db.url)
    assert fixed.code == 0, fixed.err
    assert sorted(r[0] for r in db.query("SELECT name FROM schema_version_repeatable")) == ["broken", "views"]


def test_a_dialect_override_replaces_the_generic_repeatable(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE marks (who VARCHAR(20));\n", "DROP TABLE marks;\n")
    (sqldir / "repeatable").mkdir()
    (sqldir / "repeatable" / "mark.sql").write_text("INSERT INTO marks VALUES ('generic');\n")
    for dialect in ("sqlite", "postgres", "mysql"):
        (sqldir / dialect / "repeatable").mkdir(parents=True)
        if dialect != db.dialect:
            (sqldir / dialect / "repeatable" / "mark.sql").write_text(
                f"INSERT INTO marks VALUES ('{dialect}');\n"
            )
    own = sqldir / db.dialect / "repeatable" / "mark.sql"
    own.write_text("INSERT INTO marks VALUES ('mine');\n")
    assert cli("up", "--url", db.url).code == 0
    assert db.query("SELECT who FROM marks") == [("mine",)]
    assert db.query("SELECT checksum FROM schema_version_repeatable") == [(checksum_text(own.read_text()),)]


def test_down_never_runs_a_repeatable(db: Db, sqldir: Path, cli: Any) -> None:
    view = _project(sqldir)
    write_migration(sqldir, "0002_u", "CREATE TABLE u (b INT);\n", "DROP TABLE u;\n")
    assert cli("up", "--url", db.url).code == 0
    view.write_text(VIEW.format(n=7), encoding="utf-8")
    down = cli("down", "--yes", "--url", db.url)
    assert down.code == 0, down.err
    assert "repeatable" not in down.out
    assert db.query("SELECT a FROM v") == [(10,)]
    assert _repeatable_events(db) == [("views", "ok")]


def test_after_a_down_the_next_up_runs_every_repeatable_again(db: Db, sqldir: Path, cli: Any) -> None:
    """A down.sql that drops what a repeatable's view reads (the view goes with it) must not
    leave the view missing after the next up: a round trip gives back the same database."""
    _project(sqldir)
    write_migration(
        sqldir,
        "0001_t",
        "CREATE TABLE t (a INT);\nINSERT INTO t VALUES (1);\n",
        "DROP VIEW IF EXISTS v;\nDROP TABLE t;\n",
    )
    write_migration(sqldir, "0002_u", "CREATE TABLE u (b INT);\n", "DROP TABLE u;\n")
    assert cli("up", "--url", db.url).code == 0
    assert db.query("SELECT a FROM v") == [(10,)]

    down = cli("down", "--to", "0", "--yes", "--url", db.url)
    assert down.code == 0, down.out + down.err
    assert "repeatable" not in down.out  # down never runs one
    status = cli("status", "--exit-code", "--url", db.url)
    assert status.code == 5, status.out
    assert "views (repeatable/views.sql): applied, then a `down` ran" in " ".join(status.out.split())
    doc = json.loads(cli("status", "--json", "--url", db.url).out)
    assert [(r["name"], r["state"]) for r in doc["repeatables"]] == [("views", "rolled_back")]

    up = cli("up", "--url", db.url)
    assert up.code == 0, up.out + up.err
    assert "applied 2 versions and 1 repeatable migration (views)" in up.out
    assert db.query("SELECT a FROM v") == [(10,)]
    assert _repeatable_events(db) == [("views", "ok"), ("views", "ok")]
    events = db.query(
        "SELECT old_checksum, new_checksum FROM schema_version_history "
        "WHERE action = 'repeatable' ORDER BY id"
    )
    assert events[1][0] is None and events[1][1] == events[0][1]  # no sentinel in the history
    assert cli("status", "--exit-code", "--url", db.url).code == 0
    assert cli("up", "--url", db.url).out.count("repeatable") == 0  # once, not on every up


def test_a_down_of_one_version_makes_the_repeatables_pending_again(db: Db, sqldir: Path, cli: Any) -> None:
    _project(sqldir)
    write_migration(sqldir, "0002_u", "CREATE TABLE u (b INT);\n", "DROP TABLE u;\n")
    assert cli("up", "--url", db.url).code == 0
    assert cli("down", "--yes", "--url", db.url).code == 0  # version 2 only
    validate = cli("validate", "--url", db.url)
    assert validate.code == 0, validate.out
    assert "pending: repeatable views (repeatable/views.sql): applied, then a `down` ran" in " ".join(
        validate.out.split()
    )
    redo = cli("up", "--url", db.url)
    assert redo.code == 0 and "applied 1 version and 1 repeatable migration (views)" in redo.out, redo.out


def test_dry_run_and_json_show_the_pending_repeatables(sqldir: Path, cli: Any) -> None:
    _project(sqldir)
    url = "sqlite:///app.db"
    plan = cli("up", "--dry-run", "--url", url)
    assert plan.code == 0, plan.err
    assert "-- repeatable views: repeatable/views.sql (transaction, atomic, 2 statements)" in plan.out
    assert not (sqldir.parent / "app.db").exists() or "schema_version" not in plan.out
    doc = json.loads(cli("up", "--dry-run", "--json", "--url", url).out)
    assert doc["repeatables"] == ["views"]
    assert [(p["direction"], p["name"]) for p in doc["plan"]] == [("up", "0001_t"), ("repeatable", "views")]
    applied = json.loads(cli("up", "--json", "--url", url).out)
    assert applied["versions"] == [1] and applied["repeatables"] == ["views"]
    status = json.loads(cli("status", "--json", "--url", url).out)
    assert status["pending_repeatables"] == []
    assert [(r["name"], r["state"]) for r in status["repeatables"]] == [("views", "applied")]


def test_hash_and_offline_validate_cover_repeatable_and_callback_files(sqldir: Path, cli: Any) -> None:
    view = _project(sqldir)
    (sqldir / "callbacks").mkdir()
    (sqldir / "callbacks" / "after_up.sql").write_text("SELECT 1;\n")
    (sqldir / "postgres" / "repeatable").mkdir(parents=True)
    (sqldir / "postgres" / "repeatable" / "views.sql").write_text("SELECT 2;\n")
    assert cli("hash").code == 0
    listed = (sqldir / "migrator.sum").read_text()
    for rel in ("repeatable/views.sql", "callbacks/after_up.sql", "postgres/repeatable/views.sql"):
        assert f"  {rel}\n" in listed
    assert cli("validate", "--offline").code == 0
    view.write_text(VIEW.format(n=3))
    (sqldir / "callbacks" / "before_up.sql").write_text("SELECT 1;\n")
    changed = cli("validate", "--offline")
    assert changed.code == 3, changed.out
    assert "repeatable/views.sql: changed" in changed.out
    assert "callbacks/before_up.sql: unlisted" in changed.out


def test_new_repeatable_creates_one_file_to_edit_in_place(sqldir: Path, cli: Any) -> None:
    _project(sqldir)
    assert cli("hash").code == 0
    made = cli("new", "--repeatable", "Active users")
    assert made.code == 0, made.err
    path = sqldir / "repeatable" / "active_users.sql"
    assert path.is_file() and f"created {Path('sql') / 'repeatable' / 'active_users.sql'}" in made.out
    assert "  repeatable/active_users.sql\n" in (sqldir / "migrator.sum").read_text()
    assert cli("validate", "--offline").code == 0
    twice = cli("new", "--repeatable", "active_users")
    assert twice.code == 2 and "exists already; edit it in place" in twice.err, twice.err


def test_a_stray_file_in_repeatable_is_a_layout_error(sqldir: Path, cli: Any) -> None:
    _project(sqldir)
    (sqldir / "repeatable" / "README.md").write_text("notes\n")
    result = cli("up", "--url", "sqlite:///app.db")
    assert result.code == 2, result.out
    assert "repeatable/README.md: unexpected file; repeatable/ holds only .sql files" in result.err
    assert not (sqldir.parent / "app.db").exists()


def test_verify_applies_the_repeatables_after_the_last_version(db: Db, sqldir: Path, cli: Any) -> None:
    _project(sqldir)
    ok = cli("verify", "--url", db.url)
    assert ok.code == 0, ok.out + ok.err
    (sqldir / "repeatable" / "views.sql").write_text("SELECT missing_column FROM t;\n")
    failed = cli("verify", "--url", db.url)
    assert failed.code == 1, failed.out + failed.err
    assert "repeatable views failed" in failed.err and "repeatable/views.sql:1:" in failed.err
    assert "this ran on the scratch database" in failed.err and "next `up`" not in failed.err
    assert db.tables() == set()  # verify never touches the database at --url


def test_drift_counts_the_objects_a_repeatable_keeps_as_the_migrations(
    db: Db, sqldir: Path, cli: Any
) -> None:
    _project(sqldir)
    assert cli("up", "--url", db.url).code == 0
    result = cli("drift", "--url", db.url)
    assert result.code == 0, result.out + result.err
    assert "no drift" in result.out


def test_offline_validate_splits_repeatable_and_callback_files_too(sqldir: Path, cli: Any) -> None:
    _project(sqldir)
    (sqldir / "callbacks").mkdir()
    (sqldir / "callbacks" / "after_up.sql").write_text("SELECT 'unclosed;\n")
    assert cli("hash").code == 0
    result = cli("validate", "--offline")
    assert result.code == 2, result.out + result.err
    assert "callbacks/after_up.sql:1:" in result.err


def test_ctrl_c_during_a_repeatable_says_what_of_it_committed(db: Db, sqldir: Path, cli: Any) -> None:
    """Not 'no migration file was cut short': a repeatable is rolled back where the dialect
    can, and on mysql the DDL before the signal committed, and the message says so."""
    import signal

    from tests.test_concurrency import SLEEP, _spawn, _wait_for_running

    _project(sqldir)
    (sqldir / "repeatable" / "views.sql").write_text(
        "CREATE TABLE made_by_it (x INT);\n" + SLEEP[db.dialect], encoding="utf-8"
    )
    proc = _spawn(["up", "--url", db.url], sqldir.parent)
    _wait_for_running(db, proc)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    head = "error: stopped by SIGINT during repeatable views; applied before it: 1; repeatable views "
    pending = "; it stays pending and runs again on the next `up`\n"
    if db.dialect == "mysql":
        assert (
            head + "was cut short: statement 1 of 2 committed and stays, and statement 2 was "
            "running when the signal came (it may have committed too)" + pending
        ) in err
        assert "made_by_it" in db.tables()
    else:
        assert head + "was rolled back: nothing of it was committed" + pending in err
        assert "made_by_it" not in db.tables()
    assert db.versions() == [(1, "applied")]
    status = cli("status", "--exit-code", "--url", db.url)
    assert status.code == 5 and "views (repeatable/views.sql): never applied" in status.out, status.out


def test_a_repeatable_whose_file_is_gone_is_named_not_hidden(db: Db, sqldir: Path, cli: Any) -> None:
    """Its view stays in the database: status and validate say so instead of 'all applied'."""
    view = _project(sqldir)
    assert cli("up", "--url", db.url).code == 0
    view.unlink()
    status = cli("status", "--exit-code", "--url", db.url)
    assert status.code == 0, status.out  # nothing is pending
    assert "repeatable: 1 removed\n" in status.out and "all applied" not in status.out, status.out
    gone = "applied once, its file is gone since: nothing runs it again"
    assert f"  views: {gone}" in status.out
    validate = cli("validate", "--url", db.url)
    assert validate.code == 0, validate.out
    assert f"note: repeatable views: {gone}" in validate.out
    doc = json.loads(cli("validate", "--json", "--url", db.url).out)
    assert [(r["name"], r["state"]) for r in doc["removed_repeatables"]] == [("views", "removed")]
    assert db.query("SELECT a FROM v") == [(10,)]


def test_status_on_many_targets_counts_a_changed_repeatable_as_pending(
    db: Db, sqldir: Path, cli: Any
) -> None:
    view = _project(sqldir)
    other = f"sqlite:///{sqldir.parent / 'other.db'}"
    assert cli("up", "--url", db.url, "--url", other).code == 0
    view.write_text(VIEW.format(n=3), encoding="utf-8")
    status = cli("status", "--exit-code", "--url", db.url, "--url", other)
    assert status.code == 5, status.out + status.err
    assert f"{db.url}: exit 5: version 1, 0 pending, 1 repeatable changed" in status.out + status.err
    up = cli("up", "--url", db.url, "--url", other)
    assert up.code == 0, up.out + up.err
    assert f"{db.url}: ok: 1 -> 1 (0 applied, 1 repeatable)" in up.out + up.err
    assert db.query("SELECT a FROM v") == [(3,)]
    assert cli("status", "--exit-code", "--url", db.url, "--url", other).code == 0


def test_status_says_a_repeatable_failed_and_what_its_failed_runs_left(
    db: Db, sqldir: Path, cli: Any
) -> None:
    """Pending is not the whole truth after a failure: on mysql the first run's DDL stayed, and
    the second run trips on it; status tells both runs."""
    _project(sqldir)
    (sqldir / "repeatable" / "views.sql").write_text(
        "CREATE TABLE made_by_it (x INT);\nSELECT nope FROM missing_table;\n", encoding="utf-8"
    )
    assert cli("up", "--url", db.url).code == 1
    assert cli("up", "--url", db.url).code == 1
    status = cli("status", "--exit-code", "--url", db.url)
    assert status.code == 5, status.out
    line = next(x for x in status.out.splitlines() if x.startswith("  views (repeatable/views.sql): "))
    assert line.startswith("  views (repeatable/views.sql): never applied; its last run, at "), line
    assert line.endswith("; the next `up` runs it again"), line
    if db.dialect == "mysql":
        assert "UTC, failed: none of its 2 statements committed; an earlier failed run, at " in line
        assert "UTC, left: statement 1 of 2 committed and stays (no rollback is possible here);" in line
    else:
        assert "UTC, failed: nothing of it was committed: the whole file was rolled back;" in line
        assert "earlier" not in line
    doc = json.loads(cli("status", "--json", "--url", db.url).out)
    assert [(r["name"], r["last_run_failed"]) for r in doc["repeatables"]] == [("views", True)]
    (sqldir / "repeatable" / "views.sql").write_text(
        "DROP TABLE IF EXISTS made_by_it;\nCREATE TABLE made_by_it (x INT);\n", encoding="utf-8"
    )
    assert cli("up", "--url", db.url).code == 0
    assert "failed" not in cli("status", "--url", db.url).out
