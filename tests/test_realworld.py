"""Shapes found in real-world migration folders (procrastinate, graphile-worker, synapse,
roundcube, zoneminder, icinga2-ido, and mysql/sqlite folders written in the style of popular
projects) that migrator got wrong. Each test holds a small piece of such a folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import Db, write_migration

_USERS = "CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL UNIQUE);\n"


# -- seed data with e-mail addresses is still a data-only file ---------------------------------
def test_a_seed_file_with_email_addresses_runs_in_one_transaction(db: Db, sqldir: Path, cli: Any) -> None:
    """An `@` in a string or a comment is no mysql user variable: the file stays atomic, and
    its failure rolls it back whole instead of leaving a `failed` row that blocks every run."""
    write_migration(sqldir, "0001_users", _USERS, "DROP TABLE users;\n")
    write_migration(
        sqldir,
        "0002_seed",
        "-- seed accounts; questions to ops@example.org\n"
        "INSERT INTO users VALUES (1, 'ada@example.org');\n"
        "INSERT INTO users VALUES (2, 'grace@example.org'); /* by @admin */\n"
        "INSERT INTO users VALUES (3, 'ada@example.org');\n",
        "DELETE FROM users;\n",
    )
    dry = cli("up", "--dry-run", "--json", "--url", db.url)
    assert {p["version"]: p["atomic"] for p in json.loads(dry.out)["plan"]} == {
        1: db.dialect != "mysql",
        2: True,
    }
    r = cli("up", "--url", db.url)
    assert r.code == 1
    assert "statement: 3 of 3" in r.err
    assert "nothing of this version was committed: the whole file was rolled back" in r.err
    assert db.query("SELECT id FROM users") == []
    assert db.versions() == [(1, "applied")]


def test_a_data_file_that_sets_a_user_variable_is_not_atomic_on_mysql(
    mysql_db: Db, sqldir: Path, cli: Any
) -> None:
    write_migration(sqldir, "0001_users", _USERS, "DROP TABLE users;\n")
    write_migration(
        sqldir,
        "0002_seed",
        "INSERT INTO users VALUES (1, 'ada@example.org');\nSELECT COUNT(*) INTO @n FROM users;\n",
        "DELETE FROM users;\n",
    )
    dry = cli("up", "--dry-run", "--json", "--url", mysql_db.url)
    assert {p["version"]: p["atomic"] for p in json.loads(dry.out)["plan"]} == {1: False, 2: False}
