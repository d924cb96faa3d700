"""`create`, `drop` and `up --create`: the database at --url itself, on every dialect.

Each test works on a database of its own name, never the fixture's scratch database (which
only serves to look at the server's catalog), and removes it afterwards.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Db, answer_on_a_terminal, write_migration

PASSWORD = "pw-Secret-41x"  # an unprivileged user's; must never be printed


@pytest.fixture
def fresh(db: Db) -> Iterator[str]:
    """The URL of a database that does not exist yet, on the dialect's server; dropped after."""
    name = f"mt_cd_{uuid.uuid4().hex[:10]}"
    url = f"sqlite:///{db.tmp / name}.db" if db.dialect == "sqlite" else db.parsed.with_database(name).raw
    yield url
    _drop_quietly(db, url)


def _drop_quietly(db: Db, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    if db.dialect == "sqlite":
        Path(url.split("///", 1)[1]).unlink(missing_ok=True)
    elif db.dialect == "postgres":
        db.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        db.execute(f'DROP DATABASE IF EXISTS "{name}"')
    else:
        db.execute(f"DROP DATABASE IF EXISTS `{name}`")


def _exists(db: Db, url: str) -> bool:
    name = url.rsplit("/", 1)[1]
    if db.dialect == "sqlite":
        return Path(url.split("///", 1)[1]).exists()
    if db.dialect == "postgres":
        return bool(db.query(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"))
    return bool(db.query(f"SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}'"))


def _name(url: str) -> str:
    """The name messages give the database: sqlite's is its file's path."""
    return url.split("///", 1)[1] if url.startswith("sqlite") else url.rsplit("/", 1)[1]


def test_create_makes_the_database_and_succeeds_again_when_it_exists(db: Db, fresh: str, cli: Any) -> None:
    first = cli("--url", fresh, "create")

    assert first.code == 0, first.err
    assert first.out == f"created database {_name(fresh)}\n"
    assert _exists(db, fresh)

    again = cli("--url", fresh, "create")  # a deploy script runs it every time
    assert again.code == 0, again.err
    assert again.out == f"database {_name(fresh)} exists already; nothing to do\n"

    as_json = json.loads(cli("--url", fresh, "create", "--json").out)
    assert as_json["ok"] is True and as_json["changed"] is False and as_json["database"] == _name(fresh)


def test_drop_needs_yes_off_a_terminal_then_drops_and_succeeds_when_missing(
    db: Db, fresh: str, cli: Any
) -> None:
    assert cli("--url", fresh, "create").code == 0

    refused = cli("--url", fresh, "drop")

    assert refused.code == 2
    assert refused.err == (
        f"error: drop would delete database {_name(fresh)} and everything in it and needs "
        "confirmation; nothing was changed\nhint: pass --yes to confirm when there is no terminal\n"
    )
    assert _exists(db, fresh)

    dropped = cli("--url", fresh, "drop", "--yes")
    assert dropped.code == 0, dropped.err
    assert dropped.out == f"dropped database {_name(fresh)}\n"
    assert not _exists(db, fresh)

    missing = cli("--url", fresh, "drop", "--yes")
    assert missing.code == 0, missing.err
    assert missing.out == f"database {_name(fresh)} does not exist; nothing to do\n"


def test_drop_asks_on_a_terminal_and_a_no_keeps_the_database(
    db: Db, fresh: str, cli: Any, tmp_path: Path
) -> None:
    assert cli("--url", fresh, "create").code == 0

    declined = answer_on_a_terminal(["--url", fresh, "drop"], tmp_path, "n\n")

    assert declined.code == 3
    assert f"Drop database {_name(fresh)} and everything in it? This cannot be undone. [y/N]" in declined.err
    assert f"error: drop cancelled; database {_name(fresh)} was not changed" in declined.err
    assert _exists(db, fresh)

    accepted = answer_on_a_terminal(["--url", fresh, "drop"], tmp_path, "y\n")
    assert accepted.code == 0, accepted.err
    assert not _exists(db, fresh)


def test_up_create_creates_a_missing_database_then_applies(
    db: Db, fresh: str, cli: Any, sqldir: Path
) -> None:
    write_migration(sqldir, "0001_people", "CREATE TABLE people (id INT);\n", "DROP TABLE people;\n")

    preview = cli("--url", fresh, "up", "--create", "--dry-run")
    assert preview.code == 0, preview.err
    assert preview.out == (
        f"dry run: database {_name(fresh)} does not exist; up --create would create it "
        "and apply every version; nothing was written\n"
    )
    assert not _exists(db, fresh)

    result = cli("--url", fresh, "up", "--create")

    assert result.code == 0, result.err
    assert result.out.startswith(f"created database {_name(fresh)}\n")
    assert "database is at version 1" in result.out
    fresh_db = Db(db.dialect, fresh, db.tmp)
    assert fresh_db.versions() == [(1, "applied")]

    again = cli("--url", fresh, "up", "--create", "--json")
    assert again.code == 0, again.err
    doc = json.loads(again.out)
    assert doc["database_created"] is False and doc["versions"] == []


def test_drop_refuses_while_another_session_is_connected(db: Db, fresh: str, cli: Any) -> None:
    assert cli("--url", fresh, "create").code == 0

    with _another_session(db.dialect, fresh):
        result = cli("--url", fresh, "drop", "--yes")

    assert result.code == 3
    assert f"error: database {_name(fresh)} has 1 other session connected (" in result.err
    assert "; nothing was dropped\nhint: stop the applications using it and run drop again\n" in result.err
    assert _exists(db, fresh)


@contextmanager
def _another_session(dialect: str, url: str) -> Iterator[None]:
    if dialect == "sqlite":  # sqlite lists no sessions; one in a transaction holds a lock
        with closing(sqlite3.connect(url.split("///", 1)[1], isolation_level=None)) as conn:
            conn.execute("BEGIN IMMEDIATE")
            yield
            conn.execute("ROLLBACK")
        return
    from migrator.urls import parse_url

    u = parse_url(url)
    if dialect == "postgres":
        import psycopg

        with psycopg.connect(host=u.host, port=u.port or 5432, user=u.user, dbname=u.database):
            yield
        return
    import mysql.connector

    conn = mysql.connector.connect(
        host=u.host, port=u.port or 3306, user=u.user, password=u.password, database=u.database
    )
    try:
        yield
    finally:
        conn.close()


def test_create_and_drop_without_the_privilege_say_so_and_never_print_the_password(
    server_db: Db, cli: Any
) -> None:
    user = f"mt_nopriv_{uuid.uuid4().hex[:8]}"
    theirs = f"mt_cd_{uuid.uuid4().hex[:10]}"  # exists, created by the fixture's admin user
    mine = f"mt_cd_{uuid.uuid4().hex[:10]}"  # does not exist
    server = server_db.parsed
    server_db.execute(f"CREATE DATABASE {theirs}")
    if server_db.dialect == "postgres":
        server_db.execute(f"CREATE ROLE {user} LOGIN PASSWORD '{PASSWORD}' NOCREATEDB")
    else:
        server_db.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{PASSWORD}'")
        server_db.execute(f"GRANT SELECT ON {theirs}.* TO '{user}'@'%'")  # sees it, may not drop it
    as_user = f"{server.raw.split('://')[0]}://{user}:{PASSWORD}@{server.host}:{server.port}"
    try:
        created = cli("--url", f"{as_user}/{mine}", "create")
        dropped = cli("--url", f"{as_user}/{theirs}", "drop", "--yes")
        up = cli("--url", f"{as_user}/{mine}", "up", "--create", "--json")
        missing = cli("--url", f"{as_user}/{mine}", "drop", "--yes")
    finally:
        _drop_quietly(server_db, f"x/{mine}")
        _drop_quietly(server_db, f"x/{theirs}")
        if server_db.dialect == "postgres":
            server_db.execute(f"DROP ROLE {user}")
        else:
            server_db.execute(f"DROP USER '{user}'@'%'")

    assert created.code == 2
    assert created.err.startswith(f"error: not allowed to create database {mine}: ")
    assert "hint: connect as a user who may create databases (postgres: CREATEDB; mysql: the CREATE" in (
        created.err
    )
    assert dropped.code == 2
    assert dropped.err.startswith(f"error: not allowed to drop database {theirs}: ")
    assert up.code == 2
    assert json.loads(up.out)["error"]["kind"] == "privilege"
    # mysql shows a user only the databases it has a privilege on: "missing" may be unseen
    unseen = " (or this user has no privilege on it)" if server_db.dialect == "mysql" else ""
    assert missing.code == 0, missing.err
    assert missing.out == f"database {mine} does not exist{unseen}; nothing to do\n"
    for r in (created, dropped, up, missing):
        assert PASSWORD not in r.out + r.err
        assert "Traceback" not in r.err


def test_postgres_quotes_the_name_on_the_server(postgres_db: Db, cli: Any) -> None:
    name = f'mt_cd_{uuid.uuid4().hex[:6]}"odd name'
    url = postgres_db.parsed.with_database(name.replace('"', "%22").replace(" ", "%20")).raw
    try:
        created = cli("--url", url, "create")
        assert created.code == 0, created.err
        assert postgres_db.query(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        dropped = cli("--url", url, "drop", "--yes")
        assert dropped.code == 0, dropped.err
        assert not postgres_db.query(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
    finally:
        postgres_db.execute(f'DROP DATABASE IF EXISTS "{name.replace(chr(34), chr(34) * 2)}"')


def test_mysql_refuses_a_name_backticks_cannot_hold(mysql_db: Db, cli: Any) -> None:
    url = mysql_db.parsed.with_database("mt_cd_%60x").raw

    result = cli("--url", url, "create")

    assert result.code == 2
    assert result.err.startswith(
        "error: database name 'mt_cd_`x' has a backtick, a NUL or a trailing space; "
        "migrator does not create or drop such a database\n"
    )


def test_sqlite_create_names_the_missing_folder(cli: Any, tmp_path: Path) -> None:
    result = cli("--url", "sqlite:///nowhere/app.db", "create")

    assert result.code == 2
    assert result.err == (
        f"error: cannot create SQLite database nowhere/app.db: folder {tmp_path / 'nowhere'} "
        "does not exist\nhint: create the folder first, or fix the path in the URL\n"
    )
    assert not (tmp_path / "nowhere").exists()


def test_sqlite_drop_refuses_a_file_that_is_not_a_database(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "notes.db").write_text("not a database, keep me\n" * 100)

    result = cli("--url", "sqlite:///notes.db", "drop", "--yes")

    assert result.code == 1
    assert result.err.startswith("error: cannot drop database notes.db: cannot open notes.db: ")
    assert (tmp_path / "notes.db").exists()


def test_up_create_on_several_targets_is_refused(cli: Any, tmp_path: Path) -> None:
    result = cli("--url", "sqlite:///a.db", "--url", "sqlite:///b.db", "up", "--create")

    assert result.code == 2
    assert result.err.startswith("error: up --create works on one database; nothing was changed\n")
    assert not (tmp_path / "a.db").exists()


def test_a_name_longer_than_the_server_keeps_is_refused_before_connecting(cli: Any) -> None:
    name = "a" * 64  # postgres would cut it to 63 bytes and create another database

    result = cli("--url", f"postgres://u@127.0.0.1:1/{name}", "create")

    assert result.code == 2
    assert result.err.startswith(f"error: database name '{name}' is 64 bytes; postgres keeps at most 63\n")


def test_down_and_repair_on_a_sqlite_file_that_does_not_exist_create_nothing(sqldir: Path, cli: Any) -> None:
    """A mistyped path must not leave an empty database (and its lock file) behind: there is
    nothing to roll back or repair in a database that does not exist. (`up` still creates it.)"""
    write_migration(sqldir, "0001_a", "CREATE TABLE a (x INT);\n", "DROP TABLE a;\n")
    (sqldir / "callbacks").mkdir()
    (sqldir / "callbacks" / "before_down.sql").write_text("CREATE TABLE marker (x INT);\n")
    url = ("--url", "sqlite:///typo.db")
    down = cli("down", "--yes", *url)
    assert down.code == 0 and "nothing to do" in down.out, down.out + down.err
    repair = cli("repair", "1", "--yes", *url)
    assert repair.code == 0, repair.out + repair.err
    assert sorted(p.name for p in sqldir.parent.iterdir()) == ["sql"]
    assert cli("up", *url).code == 0
    assert (sqldir.parent / "typo.db").exists()
