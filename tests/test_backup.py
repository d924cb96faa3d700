"""Backups (SPEC §7): a backup restores with the database's own tools, is named and placed as promised,
stops the run early when its tool is missing, and never shows a password."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from migrator.backup import BackupError, BackupPlan, plan_backup, restore_command, take_backup
from migrator.errors import ConfigError
from migrator.urls import DatabaseUrl, parse_url
from tests.conftest import Db, _create_scratch, answer_on_a_terminal, write_migration

ROWS = [(1, "O'Brien"), (2, "Zoë 🚀"), (3, 'say "hi"; -- not a comment')]
SECRET = "pw-secret-1"


def _fill(db: Db) -> None:
    text = "TEXT" if db.dialect != "mysql" else "TEXT CHARACTER SET utf8mb4"
    db.execute(f"CREATE TABLE people (id INTEGER PRIMARY KEY, name {text})")
    for row_id, name in ROWS:
        quoted = name.replace("'", "''")
        db.execute(f"INSERT INTO people (id, name) VALUES ({row_id}, '{quoted}')")


def _people(db: Db) -> list[tuple[int, str]]:
    return [(int(i), n) for i, n in db.query("SELECT id, name FROM people ORDER BY id")]


def _backup(db: Db, directory: Path, version: int = 7) -> Path:
    url = db.parsed
    return take_backup(plan_backup(url, directory), url, version)


def _restore(path: Path, url: DatabaseUrl) -> None:
    command = restore_command(path, url)
    done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{command}\n{done.stderr}"


@pytest.mark.parametrize("damage", ["rows deleted and edited", "table dropped"])
def test_backup_restores_the_rows_it_was_taken_with(db: Db, tmp_path: Path, damage: str) -> None:
    _fill(db)
    path = _backup(db, tmp_path / "backups")
    if damage == "table dropped":
        db.execute("DROP TABLE people")
    else:
        db.execute("DELETE FROM people WHERE id = 1")
        db.execute("UPDATE people SET name = 'changed' WHERE id = 2")

    _restore(path, db.parsed)

    assert _people(db) == ROWS


def test_backup_restores_into_a_freshly_created_database(server_db: Db, tmp_path: Path) -> None:
    _fill(server_db)
    path = _backup(server_db, tmp_path / "backups")
    with contextmanager(_create_scratch)(server_db.dialect, tmp_path) as fresh:
        _restore(path, fresh.parsed)
        assert _people(fresh) == ROWS


def test_sqlite_backup_uses_the_given_connection(tmp_path: Path) -> None:
    url = parse_url(f"sqlite:///{tmp_path / 'app.db'}")
    conn = sqlite3.connect(url.database, isolation_level=None)
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.execute("INSERT INTO t VALUES ('from the migrator connection')")
    path = take_backup(plan_backup(url, tmp_path / "b"), url, 1, sqlite_connection=conn)

    conn.execute("BEGIN IMMEDIATE")  # holding the write lock: SQLite's backup would wait on itself
    with pytest.raises(BackupError, match="open transaction"):
        take_backup(plan_backup(url, tmp_path / "b"), url, 2, sqlite_connection=conn)
    conn.close()

    with closing(sqlite3.connect(path)) as copy:
        assert copy.execute("SELECT x FROM t").fetchall() == [("from the migrator connection",)]
    assert [p.name for p in (tmp_path / "b").iterdir()] == [path.name]


def test_backup_file_is_named_db_version_utc_timestamp(db: Db, tmp_path: Path) -> None:
    _fill(db)
    directory = tmp_path / "not" / "yet" / "there"
    before = datetime.now(UTC).replace(microsecond=0)
    first, second = _backup(db, directory, 12), _backup(db, directory, 12)

    name = Path(db.parsed.database).stem if db.dialect == "sqlite" else db.parsed.database
    suffix = r"\.sqlite" if db.dialect == "sqlite" else r"\.sql"
    pattern = re.compile(rf"{re.escape(name)}_v12_(\d{{8}}T\d{{6}}Z)(_\d+)?{suffix}")
    assert first != second
    assert sorted(p.name for p in directory.iterdir()) == sorted([first.name, second.name])
    for path in (first, second):
        assert path.parent == directory
        match = pattern.fullmatch(path.name)
        assert match, path.name
        stamp = datetime.strptime(match[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        assert before <= stamp <= datetime.now(UTC)
        assert path.stat().st_mode & 0o077 == 0  # a whole database: readable by its owner only


class _FrozenClock:
    @staticmethod
    def now(tz: object) -> datetime:
        return datetime(2026, 11, 25, 14, 22, 33, 120000, tzinfo=UTC)


def test_second_backup_in_the_same_second_does_not_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = parse_url(f"sqlite:///{tmp_path / 'app.db'}")
    sqlite3.connect(url.database).close()
    monkeypatch.setattr("migrator.backup.datetime", _FrozenClock)
    plan = plan_backup(url, tmp_path / "b")

    paths = [take_backup(plan, url, 3) for _ in range(3)]

    assert [p.name for p in paths] == [
        "app_v3_20261125T142233Z.sqlite",
        "app_v3_20261125T142233Z_2.sqlite",
        "app_v3_20261125T142233Z_3.sqlite",
    ]


def test_database_name_cannot_escape_the_backup_directory(tmp_path: Path) -> None:
    url = parse_url("postgres://u@127.0.0.1/..%2F..%2Fetc")
    plan = BackupPlan("postgres", str(_fake_tool(tmp_path / "bin", "pg_dump", exit_code=0)), tmp_path / "b")
    path = take_backup(plan, url, 1)
    assert path.parent == tmp_path / "b"
    assert path.name.startswith("_.._etc_v1_")


@pytest.mark.parametrize(
    ("dialect", "tools"), [("postgres", ["pg_dump"]), ("mysql", ["mariadb-dump", "mysqldump"])]
)
def test_missing_dump_tool_stops_before_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dialect: str, tools: list[str]
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    # Port 1: nothing listens, so a plan that tried to connect would fail differently.
    url = parse_url(f"{dialect}://u:{SECRET}@127.0.0.1:1/appdb")

    with pytest.raises(ConfigError) as caught:
        plan_backup(url, tmp_path / "backups")

    error = caught.value
    assert error.exit_code == 2
    assert all(tool in error.message for tool in tools)
    assert "--no-backup" in error.hint
    assert ("postgresql-client" if dialect == "postgres" else "mariadb-client") in error.hint
    assert SECRET not in str(error.to_dict())
    assert not (tmp_path / "backups").exists()


def test_mysqldump_is_used_when_mariadb_dump_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = _fake_tool(tmp_path / "bin", "mysqldump", exit_code=0)
    monkeypatch.setenv("PATH", str(tool.parent))
    assert plan_backup(parse_url("mysql://root@127.0.0.1/app"), tmp_path).tool == str(tool)


def test_sqlite_never_needs_a_tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    url = parse_url(f"sqlite:///{tmp_path / 'app.db'}")
    sqlite3.connect(url.database).close()

    plan = plan_backup(url, tmp_path / "b")

    assert plan == BackupPlan("sqlite", None, tmp_path / "b")
    assert take_backup(plan, url, 1).exists()


def test_unwritable_backup_directory_stops_before_the_database(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    with pytest.raises(ConfigError, match="cannot be created or written"):
        plan_backup(parse_url(f"sqlite:///{tmp_path / 'app.db'}"), tmp_path / "a-file" / "backups")


@pytest.mark.parametrize(
    ("dialect", "tool", "env"),
    [("postgres", "pg_dump", "PGPASSWORD"), ("mysql", "mariadb-dump", "MYSQL_PWD")],
)
def test_password_goes_through_the_environment_never_argv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dialect: str, tool: str, env: str
) -> None:
    fake = _fake_tool(tmp_path / "bin", tool, exit_code=0)
    monkeypatch.setenv("PATH", str(fake.parent))
    monkeypatch.delenv(env, raising=False)
    url = parse_url(f"{dialect}://bk_user:{SECRET}@db.example:5433/appdb")

    take_backup(plan_backup(url, tmp_path / "b"), url, 1)

    argv = (fake.parent / "argv").read_text()
    assert SECRET not in argv
    assert "--host=db.example" in argv and "--port=5433" in argv and "appdb" in argv
    assert (fake.parent / "env").read_text().strip() == SECRET
    assert SECRET not in restore_command(tmp_path / "x.sql", url)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h/app?sslmode=require", "--dbname=dbname='app' sslmode='require'"),
        (
            "mysql://u@h/app?ssl_ca=/etc/ca.pem&unix_socket=/run/my.sock",
            "--protocol=SOCKET\n--host=h\n--port=3306\n--user=u",
        ),
        (
            "mysql://u@h/app?ssl_ca=/etc/ca.pem&unix_socket=/run/my.sock",
            "--ssl-ca=/etc/ca.pem\n--socket=/run/my.sock",
        ),
    ],
)
def test_url_parameters_reach_the_dump_tool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, expected: str
) -> None:
    # sslmode or a CA file the migration connection honours must not be dropped by the backup.
    tool = "pg_dump" if url.startswith("postgres") else "mariadb-dump"
    fake = _fake_tool(tmp_path / "bin", tool, exit_code=0)
    monkeypatch.setenv("PATH", str(fake.parent))
    parsed = parse_url(url)
    take_backup(plan_backup(parsed, tmp_path / "b"), parsed, 1)
    assert expected in (fake.parent / "argv").read_text()


@pytest.mark.parametrize(("dialect", "tool"), [("postgres", "pg_dump"), ("mysql", "mariadb-dump")])
def test_tool_output_is_masked_in_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dialect: str, tool: str
) -> None:
    # A tool that echoes the password and a URL carrying it, after half a dump: worst case for leaks.
    fake = _fake_tool(tmp_path / "bin", tool, exit_code=3)
    monkeypatch.setenv("PATH", str(fake.parent))
    url = parse_url(f"{dialect}://bk_user:{SECRET}@db.example/appdb")
    directory = tmp_path / "b"

    with pytest.raises(BackupError) as caught:
        take_backup(plan_backup(url, directory), url, 1)

    error = caught.value
    assert error.exit_code == 1 and error.kind == "backup"
    assert "exit 3" in error.message and "boom" in error.message
    assert SECRET not in f"{error} {error.hint} {error.to_dict()}"
    assert list(directory.iterdir()) == []


def test_backup_with_password_in_url_works_and_hides_it(server_db: Db, tmp_path: Path) -> None:
    _fill(server_db)
    with _user_with_password(server_db) as url:
        path = take_backup(plan_backup(url, tmp_path / "b"), url, 5)
        missing = url.with_database(f"mt_missing_{uuid.uuid4().hex[:8]}")
        with pytest.raises(BackupError) as caught:
            take_backup(plan_backup(missing, tmp_path / "b"), missing, 5)

    text = path.read_text(encoding="utf-8")
    assert "people" in text and "Zoë 🚀" in text
    assert SECRET not in text
    error = caught.value
    assert missing.database in error.message
    assert SECRET not in f"{error} {error.hint} {error.to_dict()}"
    assert [p.name for p in (tmp_path / "b").iterdir()] == [path.name]


def test_failing_dump_leaves_no_file(db: Db, tmp_path: Path) -> None:
    if db.dialect == "sqlite":
        missing = parse_url(f"sqlite:///{tmp_path / 'missing.db'}")
    else:
        missing = db.parsed.with_database(f"mt_missing_{uuid.uuid4().hex[:8]}")
    directory = tmp_path / "backups"

    with pytest.raises(BackupError):
        take_backup(plan_backup(missing, directory), missing, 1)

    assert list(directory.iterdir()) == []
    assert not (tmp_path / "missing.db").exists()  # sqlite: a wrong path is not created empty


def test_restore_commands_are_the_databases_own_tools(tmp_path: Path) -> None:
    path = tmp_path / "app_v1_20261125T142233Z.sql"
    pg = restore_command(path, parse_url(f"postgres://me:{SECRET}@h:5433/app"))
    my = restore_command(path, parse_url(f"mysql://me:{SECRET}@h/app"))
    lite = restore_command(tmp_path / "app_v1.sqlite", parse_url("sqlite:////srv/app.db"))

    assert (
        pg == f"psql --host=h --port=5433 --username=me --dbname=app -v ON_ERROR_STOP=1 "
        f"--single-transaction --file={path}"
    )
    client = r"(mariadb|mysql) --host=h --port=3306 --user=me --password app"
    assert re.fullmatch(rf"{client} < {re.escape(str(path))}", my)
    assert lite == f"cp -- {tmp_path / 'app_v1.sqlite'} /srv/app.db"


def _fake_tool(directory: Path, name: str, *, exit_code: int) -> Path:
    """A stand-in dump tool that records its argv and the password variables it was given."""
    directory.mkdir(parents=True, exist_ok=True)
    tool = directory / name
    tool.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > "{directory}/argv"\n'
        f'printf "%s\\n" "$PGPASSWORD$MYSQL_PWD" > "{directory}/env"\n'
        "echo 'CREATE TABLE half_written (x int);'\n"
        f'echo "boom: password $PGPASSWORD$MYSQL_PWD, url mysql://u:$PGPASSWORD$MYSQL_PWD@h/db" >&2\n'
        f"exit {exit_code}\n"
    )
    tool.chmod(0o755)
    return tool


@contextmanager
def _user_with_password(db: Db) -> Iterator[DatabaseUrl]:
    """The scratch database's URL with a password (postgres: trust auth accepts any; mysql: a real user)."""
    u = db.parsed
    if db.dialect == "postgres":
        yield parse_url(f"postgres://{u.user or 'postgres'}:{SECRET}@{u.host}:{u.port or 5432}/{u.database}")
        return
    user = f"bk_{uuid.uuid4().hex[:8]}"
    db.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{SECRET}'")
    try:
        db.execute(f"GRANT ALL ON `{u.database}`.* TO '{user}'@'%'")
        yield parse_url(f"mysql://{user}:{SECRET}@{u.host}:{u.port or 3306}/{u.database}")
    finally:
        db.execute(f"DROP USER IF EXISTS '{user}'@'%'")


# -- issue 16: the password in `?password=`, tenants, parallel targets, `migrator restore` ----------


@pytest.mark.parametrize(
    ("dialect", "tool", "client", "env", "param"),
    [
        ("postgres", "pg_dump", "psql", "PGPASSWORD", "password"),
        ("mysql", "mariadb-dump", "mariadb", "MYSQL_PWD", "password"),
        ("mysql", "mariadb-dump", "mariadb", "MYSQL_PWD", "passwd"),  # mysql-connector takes both
    ],
)
def test_password_parameter_goes_through_the_environment_never_argv(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    dialect: str,
    tool: str,
    client: str,
    env: str,
    param: str,
) -> None:
    dump = _fake_tool(tmp_path / "bin", tool, exit_code=0)
    monkeypatch.setenv("PATH", str(dump.parent))
    monkeypatch.delenv(env, raising=False)
    url = parse_url(f"{dialect}://bk_user@db.example:5433/appdb?sslmode=require&{param}={SECRET}")

    path = take_backup(plan_backup(url, tmp_path / "b"), url, 1)

    argv = (dump.parent / "argv").read_text()
    assert SECRET not in argv and "password=" not in argv.lower()
    assert (dump.parent / "env").read_text().strip() == SECRET
    assert SECRET not in restore_command(path, url)
    # the restore migrator runs itself: the same rule
    from migrator.restore import plan_restore, read_backup, restore_backup

    fake_client = _fake_tool(tmp_path / "cbin", client, exit_code=0)
    monkeypatch.setenv("PATH", f"{fake_client.parent}:{dump.parent}")
    backup = read_backup(path)
    target = backup.target(url)
    restore_backup(backup, target, plan_restore(target))
    assert SECRET not in (fake_client.parent / "argv").read_text()
    assert (fake_client.parent / "env").read_text().strip() == SECRET


def test_backup_with_password_parameter_works_on_the_command_line(
    server_db: Db, sqldir: Path, cli: Any, tmp_path: Path
) -> None:
    write_migration(
        sqldir, "0001_people", "CREATE TABLE people (id INT PRIMARY KEY);\n", "DROP TABLE people;\n"
    )
    write_migration(
        sqldir, "0002_more", "-- migrator: backup\nCREATE TABLE more (id INT);\n", "DROP TABLE more;\n"
    )
    with _user_with_password(server_db) as with_password:
        u = with_password
        url = f"{u.dialect}://{u.user}@{u.host}:{u.port}/{u.database}?password={SECRET}"
        result = cli("--url", url, "up", "--backup-dir", "bk")

    assert result.code == 0, result.err
    assert "database is at version 2" in result.out
    (backup,) = (tmp_path / "bk").iterdir()
    assert "people" in backup.read_text(encoding="utf-8")
    assert f"backup before version 2: bk/{backup.name} (restore: " in result.out
    assert SECRET not in result.out + result.err
    assert server_db.versions() == [(1, "applied"), (2, "applied")]


def _tenants(tmp_path: Path, db: Db, count: int) -> Path:
    (tmp_path / "targets.txt").write_text(
        "".join(f"{db.url} schema=t{i}\n" for i in range(1, count + 1)), encoding="utf-8"
    )
    return tmp_path / "targets.txt"


def test_parallel_tenants_each_get_their_own_backup_in_backup_dir(
    postgres_db: Db, sqldir: Path, cli: Any, tmp_path: Path
) -> None:
    write_migration(sqldir, "0001_people", "-- migrator: backup\nCREATE TABLE people (id INT);\n")
    _tenants(tmp_path, postgres_db, 8)

    result = cli("--targets", "targets.txt", "--parallel", "8", "up", "--backup-dir", "tenant-backups")

    assert result.code == 0, result.err
    names = sorted(p.name for p in (tmp_path / "tenant-backups").iterdir())
    assert len(names) == 8
    database = postgres_db.parsed.database
    for i, name in enumerate(names, start=1):
        assert re.fullmatch(rf"{database}_t{i}_v1_\d{{8}}T\d{{6}}Z\.sql", name), names
    assert not (tmp_path / "backups").exists()  # --backup-dir reached every target


def test_concurrent_backups_in_one_second_never_share_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = parse_url(f"sqlite:///{tmp_path / 'app.db'}")
    sqlite3.connect(url.database).close()
    monkeypatch.setattr("migrator.backup.datetime", _FrozenClock)
    plan = plan_backup(url, tmp_path / "b")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "app_v3_20261125T142233Z.sqlite").write_text("an older file")
    start = threading.Barrier(8)
    # a slow file system: any gap between looking for a name and taking it is wide open
    exists = Path.exists

    def slow_exists(self: Path, *args: Any, **kwargs: Any) -> bool:
        found = exists(self, *args, **kwargs)
        time.sleep(0.05)
        return found

    monkeypatch.setattr(Path, "exists", slow_exists)

    def backup(_: int) -> Path:
        start.wait()
        return take_backup(plan, url, 3)

    with ThreadPoolExecutor(8) as pool:
        paths = list(pool.map(backup, range(8)))

    assert len(set(paths)) == 8
    assert len(list((tmp_path / "b").iterdir())) == 9
    assert (tmp_path / "b" / "app_v3_20261125T142233Z.sqlite").read_text() == "an older file"
    for path in paths:
        with closing(sqlite3.connect(path)) as copy:
            copy.execute("SELECT count(*) FROM sqlite_master").fetchone()


def test_tenant_backup_restores_that_schema_alone(
    postgres_db: Db, sqldir: Path, cli: Any, tmp_path: Path
) -> None:
    write_migration(
        sqldir,
        "0001_people",
        "CREATE TABLE people (id INT PRIMARY KEY, name TEXT);\nINSERT INTO people VALUES (1, 'first');\n",
        "DROP TABLE people;\n",
    )
    write_migration(
        sqldir, "0002_later", "-- migrator: backup\nCREATE TABLE later (x INT);\n", "DROP TABLE later;\n"
    )
    _tenants(tmp_path, postgres_db, 2)
    assert cli("--targets", "targets.txt", "up", "--backup-dir", "bk").code == 0
    for tenant in ("t1", "t2"):
        postgres_db.execute(f"INSERT INTO {tenant}.people VALUES (2, 'after the backup')")
    (t1_backup,) = (tmp_path / "bk").glob("*_t1_v2_*.sql")
    dump = t1_backup.read_text(encoding="utf-8")
    assert "t1.people" in dump and "t2." not in dump

    result = cli("--url", postgres_db.url, "restore", str(t1_backup), "--yes")

    assert result.code == 0, result.err
    assert re.fullmatch(
        rf"restored {re.escape(str(t1_backup))} into schema t1 of {re.escape(postgres_db.parsed.masked)} "
        r"in (<1 ms|\d+ ms|[\d.]+ s); database is at version 1 \(was 2\)\n",
        result.out,
    ), result.out
    assert postgres_db.query("SELECT id FROM t1.people ORDER BY id") == [(1,)]
    assert postgres_db.query("SELECT id FROM t2.people ORDER BY id") == [(1,), (2,)]
    tables = {
        r[0]
        for r in postgres_db.query("SELECT table_schema || '.' || table_name FROM information_schema.tables")
    }
    assert "t1.later" not in tables and "t2.later" in tables
    assert postgres_db.query("SELECT version, status FROM t2.schema_version ORDER BY 1") == [
        (1, "applied"),
        (2, "applied"),
    ]


def _three_versions(sqldir: Path) -> None:
    write_migration(
        sqldir,
        "0001_people",
        "CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(40));\n"
        "INSERT INTO people VALUES (1, 'first');\n",
        "DROP TABLE people;\n",
    )
    write_migration(
        sqldir,
        "0002_more",
        "-- migrator: backup\nINSERT INTO people VALUES (2, 'second');\n",
        "DELETE FROM people WHERE id = 2;\n",
    )


def test_restore_puts_the_database_back_and_says_its_version(
    db: Db, sqldir: Path, cli: Any, tmp_path: Path
) -> None:
    _three_versions(sqldir)
    assert cli("--url", db.url, "up").code == 0
    db.execute("UPDATE people SET name = 'changed' WHERE id = 1")
    (backup,) = (tmp_path / "backups").iterdir()

    result = cli("--url", db.url, "restore", f"backups/{backup.name}", "--yes")

    assert result.code == 0, result.err
    assert result.out.startswith(f"restored backups/{backup.name} into {db.parsed.masked} in ")
    assert re.search(r" (ms|s); database is at version 1 \(was 2\)\n$", result.out), result.out
    assert [tuple(r) for r in db.query("SELECT id, name FROM people ORDER BY id")] == [(1, "first")]
    assert db.versions() == [(1, "applied")]
    status = cli("--url", db.url, "--json", "status")
    assert json.loads(status.out)["current_version"] == 1


def test_restore_asks_like_down(sqldir: Path, cli: Any, tmp_path: Path) -> None:
    _three_versions(sqldir)
    assert cli("up").code == 0
    (backup,) = (tmp_path / "backups").iterdir()

    refused = cli("restore", str(backup))
    assert refused.code == 2
    assert refused.err == (
        f"error: restore would replace the database with {backup}, taken before version 2, and needs "
        "confirmation; nothing was changed\nhint: pass --yes to confirm when there is no terminal\n"
    )
    declined = answer_on_a_terminal(["restore", str(backup)], tmp_path, "n\n")
    assert declined.code == 3
    assert (
        f"Replace the database with {backup}, taken before version 2? Changes made since are lost. [y/N]"
        in declined.err
    )
    assert "restore cancelled; nothing was changed" in declined.err
    assert _versions_at(tmp_path) == [(1, "applied"), (2, "applied")]

    accepted = answer_on_a_terminal(["restore", str(backup)], tmp_path, "y\n")
    assert accepted.code == 0, accepted.err
    assert "database is at version 1 (was 2)" in accepted.out
    assert _versions_at(tmp_path) == [(1, "applied")]


def _versions_at(tmp_path: Path) -> list[tuple[int, str]]:
    with closing(sqlite3.connect(tmp_path / "migrator.db")) as conn:
        return conn.execute("SELECT version, status FROM schema_version ORDER BY 1").fetchall()


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("nope.sql", "error: backup file nope.sql does not exist\n"),
        ("sql/0001_people/up.sql", "error: sql/0001_people/up.sql is not a migrator backup"),
        ("sql", "error: sql is a directory, not a backup file\n"),
    ],
)
def test_restore_refuses_what_is_not_a_backup(
    sqldir: Path, cli: Any, tmp_path: Path, given: str, message: str
) -> None:
    _three_versions(sqldir)
    assert cli("up", "--no-backup").code == 0

    result = cli("restore", given, "--yes")

    assert result.code == 2
    assert result.err.startswith(message)
    assert "Traceback" not in result.err
    assert _versions_at(tmp_path) == [(1, "applied"), (2, "applied")]


def test_restore_refuses_another_dialects_backup(tmp_path: Path, cli: Any) -> None:
    backup = tmp_path / "app_v3_20261125T142233Z.sql"
    backup.write_bytes(b"-- migrator backup: dialect=mysql before_version=3\nCREATE TABLE t (x INT);\n")

    result = cli("--url", "postgres://u@127.0.0.1:1/app", "restore", str(backup), "--yes")

    assert result.code == 2
    assert result.err.startswith(
        f"error: {backup} is a mysql backup; the database at postgres://u@127.0.0.1:1/app is postgres\n"
    )


@pytest.mark.parametrize(("dialect", "tools"), [("postgres", "psql"), ("mysql", "mariadb or mysql")])
def test_restore_without_its_tool_stops_before_the_database(
    tmp_path: Path, cli: Any, dialect: str, tools: str
) -> None:
    backup = tmp_path / "app_v3_20261125T142233Z.sql"
    backup.write_bytes(f"-- migrator backup: dialect={dialect} before_version=3\n".encode())
    (tmp_path / "empty-bin").mkdir()
    # port 1: nothing listens, so a restore that connected first would fail differently
    url = f"{dialect}://u:{SECRET}@127.0.0.1:1/app"

    result = cli("--url", url, "restore", str(backup), "--yes", env={"PATH": str(tmp_path / "empty-bin")})

    assert result.code == 2, result.err
    assert f"cannot restore into {dialect}://u:***@127.0.0.1:1/app: {tools} not found on PATH" in result.err
    assert "apt install" in result.err
    assert SECRET not in result.out + result.err


def test_failed_restore_says_what_happened(server_db: Db, sqldir: Path, cli: Any, tmp_path: Path) -> None:
    _three_versions(sqldir)
    assert cli("--url", server_db.url, "up").code == 0
    (backup,) = (tmp_path / "backups").iterdir()
    with backup.open("a", encoding="utf-8") as f:  # the whole dump loads, then a statement fails
        f.write("THIS IS NOT SQL;\n")

    result = cli("--url", server_db.url, "restore", str(backup), "--yes")

    assert result.code == 1
    tool = "psql" if server_db.dialect == "postgres" else "(mariadb|mysql)"
    assert re.match(
        rf"error: {tool} failed \(exit \d+\) restoring {re.escape(str(backup))} into ", result.err
    )
    assert "Traceback" not in result.err
    if server_db.dialect == "postgres":  # one transaction: nothing changed
        assert "rolled back: the database is as it was" in result.err
        assert server_db.query("SELECT count(*) FROM people") == [(2,)]
        assert server_db.versions() == [(1, "applied"), (2, "applied")]
    else:
        assert "the statements before the failing one stayed applied" in result.err
        assert server_db.query("SELECT count(*) FROM people") == [(1,)]
        assert server_db.versions() == [(1, "applied")]


def test_mysql_restore_refuses_a_file_that_does_not_recreate_the_version_table(
    mysql_db: Db, sqldir: Path, cli: Any, tmp_path: Path
) -> None:
    # what the backup does not hold is dropped before it loads, and MySQL cannot undo that:
    # a file that is no whole-database dump (it would recreate the version table) is refused
    _three_versions(sqldir)
    assert cli("--url", mysql_db.url, "up", "--no-backup").code == 0
    backup = tmp_path / "rows_v2_20261125T142233Z.sql"
    backup.write_bytes(b"-- migrator backup: dialect=mysql before_version=2\nDELETE FROM people;\n")

    result = cli("--url", mysql_db.url, "restore", str(backup), "--yes")

    assert result.code == 2
    assert result.err.startswith(
        f"error: {backup} does not recreate the version table schema_version: it is not a whole "
        "database's backup, and restoring it would drop every table it does not hold; nothing was changed\n"
    )
    assert mysql_db.query("SELECT count(*) FROM people") == [(2,)]
    assert mysql_db.versions() == [(1, "applied"), (2, "applied")]


@pytest.mark.parametrize(
    ("first_bytes", "dialect"),
    [
        (b"--\n-- PostgreSQL database dump\n--\n", "postgres"),
        (b"-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB\n", "mysql"),
        (b"-- MySQL dump 10.13  Distrib 8.0.36\n", "mysql"),
    ],
)
def test_a_dump_from_before_the_header_line_is_still_a_backup(
    tmp_path: Path, first_bytes: bytes, dialect: str
) -> None:
    from migrator.restore import read_backup

    path = tmp_path / "app_v4_20261125T142233Z.sql"
    path.write_bytes(first_bytes + b"CREATE TABLE t (x INT);\n")

    backup = read_backup(path)

    assert (backup.dialect, backup.schema, backup.before_version) == (dialect, "", 4)


# -- a restore leaves nothing a later version made: the database is exactly the backup's ------------


def _a_later_table(sqldir: Path) -> None:
    write_migration(
        sqldir,
        "0001_people",
        "CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(40));\n"
        "INSERT INTO people VALUES (1, 'first');\n",
        "DROP TABLE people;\n",
    )
    write_migration(
        sqldir,
        "0002_u",
        "-- migrator: backup\nCREATE TABLE u (id INT PRIMARY KEY);\nINSERT INTO u VALUES (1);\n",
        "DROP TABLE u;\n",
    )


def test_restore_drops_what_a_later_version_created(db: Db, sqldir: Path, cli: Any, tmp_path: Path) -> None:
    _a_later_table(sqldir)
    assert cli("--url", db.url, "up").code == 0
    db.execute("UPDATE people SET name = 'changed' WHERE id = 1")
    db.execute("INSERT INTO people VALUES (2, 'after the backup')")
    (backup,) = (tmp_path / "backups").iterdir()
    assert "u" in db.tables()

    result = cli("--url", db.url, "restore", str(backup), "--yes")

    assert result.code == 0, result.err
    assert result.out.endswith(" ms; database is at version 1 (was 2)\n")
    assert db.versions() == [(1, "applied")]
    assert "u" not in db.tables()
    assert [tuple(r) for r in db.query("SELECT id, name FROM people ORDER BY id")] == [(1, "first")]
    again = cli("--url", db.url, "up", "--no-backup")
    assert again.code == 0, again.err
    assert db.versions() == [(1, "applied"), (2, "applied")]
    assert db.query("SELECT id FROM u") == [(1,)]


def test_postgres_restore_keeps_the_backups_extensions_and_drops_later_ones(
    postgres_db: Db, sqldir: Path, cli: Any, tmp_path: Path
) -> None:
    write_migration(
        sqldir,
        "0001_people",
        "CREATE EXTENSION IF NOT EXISTS citext;\nCREATE SCHEMA kept;\n"
        "CREATE TABLE kept.people (id INT PRIMARY KEY, email citext);\n"
        "INSERT INTO kept.people VALUES (1, 'A@example.com');\n",
    )
    write_migration(
        sqldir,
        "0002_later",
        "-- migrator: backup\nCREATE EXTENSION IF NOT EXISTS pgcrypto;\nCREATE SCHEMA later;\n"
        "CREATE TABLE later.t (x INT);\nCREATE TYPE mood AS ENUM ('ok');\n"
        "CREATE TABLE u (id INT PRIMARY KEY, m mood);\nCREATE VIEW uv AS SELECT id FROM u;\n"
        "CREATE FUNCTION f() RETURNS INT LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;\n",
    )
    assert cli("--url", postgres_db.url, "up").code == 0
    (backup,) = (tmp_path / "backups").iterdir()

    result = cli("--url", postgres_db.url, "restore", str(backup), "--yes")

    assert result.code == 0, result.err
    extensions = {r[0] for r in postgres_db.query("SELECT extname FROM pg_extension")}
    assert extensions == {"plpgsql", "citext"}
    schemas = {r[0] for r in postgres_db.query("SELECT nspname FROM pg_namespace")}
    assert {"public", "kept"} <= schemas and "later" not in schemas
    assert postgres_db.query("SELECT count(*) FROM pg_type WHERE typname = 'mood'") == [(0,)]
    assert postgres_db.query("SELECT count(*) FROM pg_proc WHERE proname = 'f'") == [(0,)]
    assert postgres_db.tables() == {"schema_version", "schema_version_history"}
    assert postgres_db.query("SELECT id FROM kept.people WHERE email = 'a@example.com'") == [(1,)]
    again = cli("--url", postgres_db.url, "up", "--no-backup")
    assert again.code == 0, again.err
    assert postgres_db.versions() == [(1, "applied"), (2, "applied")]


def test_postgres_restore_of_a_corrupted_backup_changes_nothing(
    postgres_db: Db, sqldir: Path, cli: Any, tmp_path: Path
) -> None:
    _a_later_table(sqldir)
    assert cli("--url", postgres_db.url, "up").code == 0
    postgres_db.execute("INSERT INTO people VALUES (2, 'after the backup')")
    (backup,) = (tmp_path / "backups").iterdir()
    text = backup.read_text(encoding="utf-8")
    # cut off inside the rows of people: psql reaches the end of the file inside COPY ... FROM stdin
    cut = text.index("1\tfirst")
    backup.write_text(text[:cut] + "1\tfirst\tan extra column\n\\.\n", encoding="utf-8")

    result = cli("--url", postgres_db.url, "restore", str(backup), "--yes")

    assert result.code == 1
    assert re.match(rf"error: psql failed \(exit \d+\) restoring {re.escape(str(backup))} into ", result.err)
    assert "rolled back: the database is as it was" in result.err
    assert postgres_db.versions() == [(1, "applied"), (2, "applied")]
    assert postgres_db.tables() == {"schema_version", "schema_version_history", "people", "u"}
    assert postgres_db.query("SELECT id FROM people ORDER BY id") == [(1,), (2,)]
    assert postgres_db.query("SELECT id FROM u") == [(1,)]


def test_mysql_failed_restore_dropped_only_what_the_backup_does_not_hold(
    mysql_db: Db, sqldir: Path, cli: Any, tmp_path: Path
) -> None:
    _a_later_table(sqldir)
    assert cli("--url", mysql_db.url, "up").code == 0
    (backup,) = (tmp_path / "backups").iterdir()
    text = backup.read_text(encoding="utf-8")
    # fails before the dump's first statement that drops a table
    first = text.index("DROP TABLE IF EXISTS")
    backup.write_text(text[:first] + "THIS IS NOT SQL;\n" + text[first:], encoding="utf-8")

    result = cli("--url", mysql_db.url, "restore", str(backup), "--yes")

    assert result.code == 1
    assert "the tables, views, routines and events the backup does not hold were dropped first" in result.err
    assert "the statements before the failing one stayed applied" in result.err
    assert "u" not in mysql_db.tables()  # dropped first: the backup does not hold it
    assert "people" in mysql_db.tables()  # the dump drops and recreates it itself: not reached
    fixed = backup.read_text(encoding="utf-8").replace("THIS IS NOT SQL;\n", "")
    backup.write_text(fixed, encoding="utf-8")
    assert cli("--url", mysql_db.url, "restore", str(backup), "--yes").code == 0
    assert mysql_db.versions() == [(1, "applied")]
