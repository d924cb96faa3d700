"""SPEC §10 many targets: --targets FILE and several --url, highest exit status wins."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import Db, write_migration


def test_up_on_a_targets_file_with_comments_and_env_vars(db: Db, example_sql: Path, cli: Any,
                                                         tmp_path: Path) -> None:
    (tmp_path / "targets.txt").write_text(
        "# every tenant\n\n"
        "sqlite:///one.db\n"
        "${TENANT_URL}   # from the environment\n"
        "sqlite:///two.db\n")
    result = cli("--targets", "targets.txt", "up", "--json", env={"TENANT_URL": db.url})
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert [t["exit_code"] for t in doc["targets"]] == [0, 0, 0]
    assert db.versions() == [(v, "applied") for v in (1, 2, 3, 4)]
    for name in ("one.db", "two.db"):
        assert (tmp_path / name).is_file()


def test_highest_exit_status_wins_and_failures_stop_new_targets(db: Db, sqldir: Path,
                                                                 cli: Any) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n")
    urls = ["sqlite:///ok.db", "postgres://nobody:pw-x@127.0.0.1:1/none", "sqlite:///after.db"]
    result = cli("up", "--parallel", "1", *[x for u in urls for x in ("--url", u)])
    assert result.code == 4
    assert "pw-x" not in result.out + result.err
    assert "not started: an earlier target failed" in result.out
    assert not (sqldir.parent / "after.db").exists()
    again = cli("up", "--parallel", "1", "--continue-on-error",
                *[x for u in urls for x in ("--url", u)])
    assert again.code == 4
    assert (sqldir.parent / "after.db").exists()


def test_postgres_schema_per_tenant(db: Db, sqldir: Path, cli: Any, tmp_path: Path) -> None:
    if db.dialect != "postgres":
        result = cli("--targets", "t.txt", "status",
                     cwd=_write(tmp_path, f"{db.url} schema=tenant_a\n"))
        assert result.code == 2 and "schema" in result.out + result.err
        return
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    _write(tmp_path, f"{db.url} schema=tenant_a\n{db.url} schema=tenant_b\n")
    result = cli("--targets", "t.txt", "up")
    assert result.code == 0, result.err
    rows = db.query("SELECT table_schema, table_name FROM information_schema.tables "
                    "WHERE table_schema LIKE 'tenant_%' ORDER BY 1, 2")
    assert rows == [(s, t) for s in ("tenant_a", "tenant_b")
                    for t in ("a", "schema_version", "schema_version_history")]
    assert "a" not in db.tables()  # nothing in public


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "t.txt").write_text(text)
    return tmp_path


def test_undefined_variable_in_targets_file_is_a_config_error(sqldir: Path, cli: Any,
                                                              tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("${NOT_SET_ANYWHERE}\n")
    result = cli("--targets", "t.txt", "status")
    assert result.code == 2
    assert "NOT_SET_ANYWHERE" in result.err
