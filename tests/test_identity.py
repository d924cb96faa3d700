"""A file that changes who the session is (postgres `SET ROLE`, `SET SESSION AUTHORIZATION`)
owns what it creates, never migrator's bookkeeping: the version rows are written as the user
migrator connected as, in transactional and no-transaction files alike, on success and on
failure, and the identity does not leak into the next file.

postgres only: there a role can take privileges away (the role below has none on the version
table). A MariaDB role only adds privileges to the user's own, and sqlite has no users."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Db, write_migration

OWNERS = "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
NO_TRANSACTION = "-- migrator: no-transaction\n"


@pytest.fixture
def role(postgres_db: Db) -> Iterator[str]:
    """A role that may create tables in public and may not touch migrator's tables."""
    name = f"mt_id_{uuid.uuid4().hex[:8]}"
    postgres_db.execute(f"CREATE ROLE {name} NOLOGIN")
    try:
        postgres_db.execute(f"GRANT CREATE, USAGE ON SCHEMA public TO {name}")
        yield name
    finally:
        postgres_db.execute(f"DROP OWNED BY {name}")
        postgres_db.execute(f"DROP ROLE {name}")


def _owners(db: Db) -> dict[str, str]:
    return dict(db.query(OWNERS))


@pytest.mark.parametrize("header", ["", NO_TRANSACTION], ids=["transaction", "no-transaction"])
@pytest.mark.parametrize("change", ["SET ROLE {role}", "SET SESSION AUTHORIZATION {role}"])
def test_a_file_that_changes_identity_leaves_the_bookkeeping_to_migrator(
    postgres_db: Db, sqldir: Path, cli: Any, role: str, header: str, change: str
) -> None:
    db = postgres_db
    write_migration(
        sqldir,
        "0001_a",
        f"{header}{change.format(role=role)};\nCREATE TABLE a (x INT);\nINSERT INTO a VALUES (1);\n"
        "CREATE TABLE a2 (x INT);\n",
        "DROP TABLE a2;\nDROP TABLE a;\n",
    )
    write_migration(sqldir, "0002_b", "CREATE TABLE b (x INT);\n", "DROP TABLE b;\n")
    up = cli("up", "--url", db.url)
    assert up.code == 0, up.out + up.err
    owners = _owners(db)
    assert (owners["a"], owners["a2"]) == (role, role)
    assert owners["b"] == "postgres"  # the next file runs as migrator's user again
    assert db.versions() == [(1, "applied"), (2, "applied")]
    assert db.query("SELECT statements_done FROM schema_version WHERE version = 1") == [(4,)]


@pytest.mark.parametrize("change", ["SET ROLE {role}", "SET SESSION AUTHORIZATION {role}"])
def test_a_no_transaction_file_that_changed_identity_and_failed_is_recorded_as_failed(
    postgres_db: Db, sqldir: Path, cli: Any, role: str, change: str
) -> None:
    db = postgres_db
    write_migration(
        sqldir,
        "0001_a",
        f"{NO_TRANSACTION}{change.format(role=role)};\nCREATE TABLE a (x INT);\n"
        "INSERT INTO a VALUES (1);\nSELECT * FROM no_such_table;\n",
        "DROP TABLE a;\n",
    )
    up = cli("up", "--url", db.url)
    assert up.code == 1, up.out + up.err
    assert "0001_a/up.sql:5:15" in up.err
    assert 'relation "no_such_table" does not exist' in up.err
    assert "statements 1-3 of 4 committed and stay" in up.err
    assert "version 1 is recorded as failed" in up.err
    assert "permission denied" not in up.err
    # what the message says is what the version table holds
    assert db.query("SELECT status, statements_done, failed_statement FROM schema_version") == [
        ("failed", 3, 4)
    ]
    assert db.query("SELECT x FROM a") == [(1,)]


def test_set_role_in_before_each_of_a_no_transaction_file_leaves_the_rows_to_migrator(
    postgres_db: Db, sqldir: Path, cli: Any, role: str
) -> None:
    db = postgres_db
    write_migration(
        sqldir,
        "0001_a",
        f"{NO_TRANSACTION}CREATE TABLE a (x INT);\nCREATE TABLE a2 (x INT);\n",
        "DROP TABLE a;\n",
    )
    write_migration(sqldir, "0002_b", "CREATE TABLE b (x INT);\n", "DROP TABLE b;\n")
    (sqldir / "callbacks").mkdir()
    (sqldir / "callbacks" / "before_each.sql").write_text(f"SET ROLE {role};\n", encoding="utf-8")
    up = cli("up", "--url", db.url)
    assert up.code == 0, up.out + up.err
    owners = _owners(db)
    assert (owners["a"], owners["a2"], owners["b"]) == (role, role, role)
    assert (owners["schema_version"], owners["schema_version_history"]) == ("postgres", "postgres")
    assert db.versions() == [(1, "applied"), (2, "applied")]


def _up_with_repeatable(db: Db, sqldir: Path, cli: Any, repeatable: str) -> Any:
    """`up` of one version and the repeatable `views` holding this text."""
    write_migration(sqldir, "0001_a", "CREATE TABLE a (x INT);\n", "DROP TABLE a;\n")
    (sqldir / "repeatable").mkdir()
    (sqldir / "repeatable" / "views.sql").write_text(repeatable, encoding="utf-8")
    return cli("up", "--url", db.url)


@pytest.mark.parametrize("header", ["", NO_TRANSACTION], ids=["transaction", "no-transaction"])
def test_a_repeatable_that_sets_a_role_is_recorded_by_migrator(
    postgres_db: Db, sqldir: Path, cli: Any, role: str, header: str
) -> None:
    db = postgres_db
    up = _up_with_repeatable(
        db, sqldir, cli, f"{header}SET ROLE {role};\nCREATE OR REPLACE VIEW v AS SELECT 1 AS x;\n"
    )
    assert up.code == 0, up.out + up.err
    assert db.query("SELECT viewowner FROM pg_views WHERE viewname = 'v'") == [(role,)]
    assert db.query("SELECT name FROM schema_version_repeatable") == [("views",)]
    status = cli("status", "--exit-code", "--url", db.url)
    assert status.code == 0, status.out + status.err  # applied: nothing pending, nothing re-run


def test_a_failing_no_transaction_repeatable_that_set_a_role_is_recorded_as_failed(
    postgres_db: Db, sqldir: Path, cli: Any, role: str
) -> None:
    db = postgres_db
    up = _up_with_repeatable(
        db, sqldir, cli, f"{NO_TRANSACTION}SET ROLE {role};\nSELECT * FROM no_such_table;\n"
    )
    assert up.code == 1, up.out + up.err
    assert 'relation "no_such_table" does not exist' in up.err
    assert "permission denied" not in up.err
    failed = db.query("SELECT outcome FROM schema_version_history WHERE action = 'repeatable'")
    assert failed == [("failed",)]
