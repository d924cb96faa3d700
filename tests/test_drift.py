"""Drift (SPEC §5): validate, guarded runs, repair, baseline, out-of-order, the offline sum file."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import Db, write_migration


def _three(sqldir: Path) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    write_migration(sqldir, "0002_b", "CREATE TABLE b (id INT);\n", "DROP TABLE b;\n")
    write_migration(sqldir, "0003_c", "CREATE TABLE c (id INT);\n", "DROP TABLE c;\n")


def test_clean_database_validates(db: Db, sqldir: Path, cli: Any) -> None:
    _three(sqldir)
    assert cli("up", "--url", db.url).code == 0
    result = cli("validate", "--url", db.url)
    assert result.code == 0, result.out + result.err
    assert "ok" in result.out


def test_whitespace_only_edits_are_not_drift(db: Db, sqldir: Path, cli: Any) -> None:
    _three(sqldir)
    assert cli("up", "--url", db.url).code == 0
    up = sqldir / "0001_a" / "up.sql"
    up.write_bytes(b"\xef\xbb\xbfCREATE TABLE a (id INT);   \r\n\r\n\r\n")
    checked = cli("validate", "--url", db.url)
    assert checked.code == 0
    assert "only in line endings, a BOM or trailing whitespace: not drift" in checked.out
    assert cli("up", "--url", db.url).code == 0


def test_edited_applied_file_is_drift_and_blocks_up_and_down(db: Db, sqldir: Path, cli: Any) -> None:
    _three(sqldir)
    assert cli("up", "--to", "2", "--url", db.url).code == 0
    (sqldir / "0001_a" / "up.sql").write_text("CREATE TABLE a (id BIGINT);\n")
    result = cli("validate", "--json", "--url", db.url)
    assert result.code == 3
    doc = json.loads(result.out)
    assert [(p["kind"], p["version"], p["name"]) for p in doc["problems"]] == [("changed", 1, "0001_a")]
    assert "-CREATE TABLE a (id INT);" in cli("validate", "--url", db.url).out  # the diff
    up = cli("up", "--url", db.url)
    assert up.code == 3
    assert "changed" in up.err and "repair 1" in up.err
    assert [v for v, _ in db.versions()] == [1, 2]  # 0003 did not run
    assert cli("down", "--yes", "--url", db.url).code == 3


def test_show_prints_the_diff_of_an_edited_file(db: Db, sqldir: Path, cli: Any) -> None:
    _three(sqldir)
    assert cli("up", "--to", "1", "--url", db.url).code == 0
    (sqldir / "0001_a" / "up.sql").write_text("CREATE TABLE a (id BIGINT);\n")
    result = cli("show", "1", "--url", db.url)
    assert result.code == 0
    assert "CHANGED since applied" in result.out
    assert "-CREATE TABLE a (id INT);" in result.out
    assert "+CREATE TABLE a (id BIGINT);" in result.out


def test_changed_down_is_a_warning_and_strict_makes_it_an_error(db: Db, sqldir: Path, cli: Any) -> None:
    _three(sqldir)
    assert cli("up", "--url", db.url).code == 0
    (sqldir / "0002_b" / "down.sql").write_text("DROP TABLE IF EXISTS b;\n")
    relaxed = cli("validate", "--url", db.url)
    assert relaxed.code == 0
    assert "warning" in relaxed.out and "0002_b/down.sql" in relaxed.out
    assert cli("validate", "--strict", "--url", db.url).code == 3


def test_missing_folder_is_drift(db: Db, sqldir: Path, cli: Any) -> None:
    _three(sqldir)
    assert cli("up", "--url", db.url).code == 0
    for f in (sqldir / "0002_b").iterdir():
        f.unlink()
    (sqldir / "0002_b").rmdir()
    result = cli("validate", "--url", db.url)
    assert result.code == 3
    assert "version 2 (0002_b): missing" in result.out


def test_a_status_migrator_never_writes_is_drift_and_blocks_up_and_down(
    db: Db, sqldir: Path, cli: Any
) -> None:
    """SPEC §2: a status other than applied/running/failed is drift, never ignored: down must
    not roll back version 2 while version 3's table is still there."""
    _three(sqldir)
    assert cli("up", "--url", db.url).code == 0
    db.execute("UPDATE schema_version SET status = 'weird' WHERE version = 3")
    validate = cli("validate", "--url", db.url)
    assert validate.code == 3, validate.out + validate.err
    assert "version 3 (0003_c): unknown-status" in validate.out and "'weird'" in validate.out
    problems = json.loads(cli("validate", "--json", "--url", db.url).out)["problems"]
    assert [(p["kind"], p["version"], p["name"], p["status"]) for p in problems] == [
        ("unknown-status", 3, "0003_c", "weird")
    ]
    for command in (("up",), ("down", "--yes"), ("down", "--yes", "--to", "0")):
        refused = cli(*command, "--url", db.url)
        assert refused.code == 3, (command, refused.out, refused.err)
        assert "version 3 (0003_c): unknown-status" in refused.err
        assert "nothing was run" in refused.err
    assert db.versions() == [(1, "applied"), (2, "applied"), (3, "weird")]
    assert {"a", "b", "c"} <= db.tables()


def test_out_of_order_needs_the_flag(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    write_migration(sqldir, "0003_c", "CREATE TABLE c (id INT);\n", "DROP TABLE c;\n")
    assert cli("up", "--url", db.url).code == 0
    write_migration(sqldir, "0002_b", "CREATE TABLE b (id INT);\n", "DROP TABLE b;\n")
    validate = cli("validate", "--url", db.url)
    assert validate.code == 3 and "out-of-order" in validate.out
    refused = cli("up", "--url", db.url)
    assert refused.code == 3 and "--allow-out-of-order" in refused.err
    assert [v for v, _ in db.versions()] == [1, 3]
    allowed = cli("up", "--allow-out-of-order", "--url", db.url)
    assert allowed.code == 0, allowed.err
    assert [v for v, _ in db.versions()] == [1, 2, 3]
    [(detail,)] = db.query("SELECT detail FROM schema_version_history WHERE version = 2")
    assert detail == "applied out of order: version 3 was already applied"


def test_unmet_requires_blocks_up(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_a", "-- migrator: requires 7\nCREATE TABLE a (id INT);\n")
    result = cli("up", "--url", db.url)
    assert result.code == 3
    assert "requires version 7, which does not exist" in result.err
    assert db.versions() == []


def test_repair_accepts_an_edit_and_records_why(db: Db, sqldir: Path, cli: Any) -> None:
    _three(sqldir)
    assert cli("up", "--url", db.url).code == 0
    (sqldir / "0002_b" / "up.sql").write_text("CREATE TABLE b (id INT); -- reviewed\n")
    dry = cli("repair", "2", "--dry-run", "--url", db.url)
    assert dry.code == 0 and "would accept version 2" in dry.out
    assert cli("validate", "--url", db.url).code == 3
    no_tty = cli("repair", "2", "--url", db.url)
    assert no_tty.code == 2 and "--yes" in no_tty.err
    result = cli("repair", "2", "--yes", "--reason", "comment only", "--url", db.url)
    assert result.code == 0, result.err
    assert cli("validate", "--url", db.url).code == 0
    [(old, new, reason)] = db.query(
        "SELECT old_checksum, new_checksum, reason FROM schema_version_history WHERE action = 'repair'"
    )
    assert old != new and reason == "comment only"


def test_baseline_marks_existing_versions_then_up_applies_the_rest(
    db: Db, example_sql: Path, cli: Any
) -> None:
    # an existing database built by hand with 0001-0002
    assert cli("up", "--to", "2", "--url", db.url, "--table", "scratch_versions").code == 0
    db.execute("DROP TABLE scratch_versions")
    db.execute("DROP TABLE scratch_versions_history")
    result = cli("baseline", "2", "--url", db.url)
    assert result.code == 0, result.err
    assert db.versions() == [(1, "applied"), (2, "applied")]
    refused = cli("baseline", "2", "--url", db.url)
    assert refused.code == 3 and "--force" in refused.err
    up = cli("up", "--url", db.url)
    assert up.code == 0, up.err
    assert db.versions() == [(v, "applied") for v in (1, 2, 3, 4)]
    actions = [a for (a,) in db.query("SELECT action FROM schema_version_history ORDER BY id")]
    assert actions == ["baseline", "baseline", "up", "up"]


def test_mark_applied_records_a_version_finished_by_hand(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(
        sqldir,
        "0001_nt",
        "-- migrator: no-transaction\nCREATE TABLE a (id INT);\nSELECT * FROM no_such_table;\n",
    )
    assert cli("up", "--url", db.url).code == 1
    result = cli("repair", "--mark-applied", "1", "--yes", "--url", db.url)
    assert result.code == 0, result.err
    assert db.versions() == [(1, "applied")]
    assert cli("up", "--url", db.url).code == 0


# -- offline: sql/migrator.sum ------------------------------------------------------------------
def test_hash_then_offline_validate_is_clean(sqldir: Path, cli: Any) -> None:
    _three(sqldir)
    assert cli("hash").code == 0
    lines = (sqldir / "migrator.sum").read_text().splitlines()
    assert len(lines) == 6 and lines[0].endswith("  0001_a/down.sql")
    assert cli("validate", "--offline").code == 0


def test_offline_validate_catches_edit_removal_and_unlisted(sqldir: Path, cli: Any) -> None:
    _three(sqldir)
    assert cli("hash").code == 0
    (sqldir / "0001_a" / "up.sql").write_text("CREATE TABLE a (id BIGINT);\n")
    (sqldir / "0003_c" / "down.sql").unlink()
    (sqldir / "0003_c" / "up.sql").unlink()
    (sqldir / "0003_c").rmdir()
    write_migration(sqldir, "0004_d", "SELECT 1;\n")
    result = cli("validate", "--offline", "--json")
    assert result.code == 3
    kinds = {(p["kind"], p["file"]) for p in json.loads(result.out)["problems"]}
    assert kinds == {
        ("changed", "0001_a/up.sql"),
        ("removed", "0003_c/up.sql"),
        ("removed", "0003_c/down.sql"),
        ("unlisted", "0004_d/up.sql"),
        ("unlisted", "0004_d/down.sql"),
    }


def test_new_creates_next_folder_and_updates_the_sum(sqldir: Path, cli: Any) -> None:
    _three(sqldir)
    assert cli("hash").code == 0
    result = cli("new", "Add users table")
    assert result.code == 0, result.err
    assert (sqldir / "0004_add_users_table" / "up.sql").is_file()
    assert cli("validate", "--offline").code == 0
    pg = cli("new", "pg only", "--dialect", "postgres")
    assert pg.code == 0 and (sqldir / "postgres" / "0005_pg_only" / "down.sql").is_file()


def test_offline_check_in_a_git_checkout_catches_a_shipped_edit(tmp_path: Path, cli: Any) -> None:
    repo = tmp_path / "repo"
    sqldir = repo / "sql"
    _three(sqldir)
    assert cli("hash", cwd=repo).code == 0

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.email=a@b", "-c", "user.name=a", "add", ".")
    git("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "ship")
    (sqldir / "0002_b" / "up.sql").write_text("CREATE TABLE b (id INT, x INT);\n")
    result = cli("validate", "--offline", cwd=repo)
    assert result.code == 3
    assert "0002_b/up.sql: changed" in result.out and "migrator hash" in result.out
    git("checkout", "--", "sql/0002_b/up.sql")
    assert cli("validate", "--offline", cwd=repo).code == 0


def test_every_drift_kind_at_once(db: Db, sqldir: Path, cli: Any) -> None:
    _three(sqldir)
    write_migration(sqldir, "0005_e", "CREATE TABLE e (id INT);\n", "DROP TABLE e;\n")
    assert cli("up", "--url", db.url).code == 0
    (sqldir / "0001_a" / "up.sql").write_text("CREATE TABLE a (id INT, x INT);\n")  # changed
    (sqldir / "0002_b" / "up.sql").write_text("CREATE  TABLE b (id INT);\n")  # spacing only
    (sqldir / "0003_c" / "down.sql").write_text("DROP TABLE IF EXISTS c;\n")  # down-changed
    for f in (sqldir / "0005_e").iterdir():
        f.unlink()
    (sqldir / "0005_e").rmdir()  # missing
    write_migration(sqldir, "0004_d", "-- migrator: requires 9\nCREATE TABLE d (id INT);\n")
    result = cli("validate", "--json", "--url", db.url)
    assert result.code == 3
    found = {(p["kind"], p["version"]) for p in json.loads(result.out)["problems"]}
    assert found == {
        ("changed", 1),
        ("changed", 2),
        ("down-changed", 3),
        ("missing", 5),
        ("out-of-order", 4),
        ("requires", 4),
    }
    spacing = [p for p in json.loads(result.out)["problems"] if p["version"] == 2][0]
    assert spacing["whitespace_only"] is True


def test_validate_finds_a_down_file_that_could_never_run(db: Db, sqldir: Path, cli: Any) -> None:
    refused = {
        "postgres": "DROP INDEX CONCURRENTLY IF EXISTS t_a;\n",
        "sqlite": "VACUUM;\n",
        "mysql": "COMMIT;\n",
    }
    write_migration(sqldir, "0001_t", "CREATE TABLE t (a INT);\n", refused[db.dialect] + "DROP TABLE t;\n")
    up = cli("up", "--url", db.url)
    r = cli("validate", "--url", db.url)
    if db.dialect == "mysql":  # every mysql file runs statement by statement: nothing refused
        assert up.code == 0 and r.code == 0, up.err + r.err
        return
    # found in CI, and by `up` before it touches the database: not during a rollback
    assert up.code == 2, up.err
    assert "0001_t/down.sql:1:1:" in up.err and "nothing was run" in up.err
    assert "t" not in db.tables()
    assert r.code == 2, r.err
    assert "0001_t/down.sql:1:1:" in r.err and "no-transaction" in r.err
