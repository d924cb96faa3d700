"""One fixture, parametrised over sqlite/postgres/mysql: each test gets its own scratch database.

Server URLs come from MIGRATOR_TEST_POSTGRES_URL / MIGRATOR_TEST_MYSQL_URL; without them,
testcontainers starts a server when Docker exists; otherwise the test is skipped with the
reason, and with MIGRATOR_TEST_REQUIRE_ALL=1 that skip is a failure.
"""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from migrator.urls import DatabaseUrl, parse_url

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_SQL = ROOT / "sql"
DIALECTS = ("sqlite", "postgres", "mysql")
_containers: dict[str, str] = {}  # dialect -> URL of a server testcontainers started
_started: list[Any] = []


def _server_url(dialect: str) -> str:
    env = f"MIGRATOR_TEST_{dialect.upper()}_URL"
    if os.environ.get(env):
        return os.environ[env]
    if dialect in _containers:
        return _containers[dialect]
    reason = _start_container(dialect)
    if dialect in _containers:
        return _containers[dialect]
    message = f"{dialect}: {env} is not set and {reason}"
    if os.environ.get("MIGRATOR_TEST_REQUIRE_ALL") == "1":
        pytest.fail(f"{message} (MIGRATOR_TEST_REQUIRE_ALL=1 turns this skip into a failure)")
    pytest.skip(message)


def _start_container(dialect: str) -> str:
    if not shutil.which("docker"):
        return "Docker is not installed, so testcontainers cannot start a server"
    try:
        if dialect == "postgres":
            from testcontainers.postgres import PostgresContainer

            c = PostgresContainer("postgres:16").start()
            _started.append(c)
            _containers[dialect] = (
                f"postgres://{c.username}:{c.password}@"
                f"{c.get_container_host_ip()}:{c.get_exposed_port(5432)}/{c.dbname}"
            )
        else:
            from testcontainers.mysql import MySqlContainer

            c = MySqlContainer("mariadb:10.11").start()
            _started.append(c)
            _containers[dialect] = (
                f"mysql://root:{c.root_password}@"
                f"{c.get_container_host_ip()}:{c.get_exposed_port(3306)}/{c.dbname}"
            )
        return ""
    except Exception as exc:  # noqa: BLE001 - any failure means: no server for this dialect
        return f"testcontainers could not start one ({type(exc).__name__}: {exc})"


@dataclass
class Db:
    """A scratch database: its URL, and a way to look inside it without migrator."""

    dialect: str
    url: str
    tmp: Path

    @property
    def parsed(self) -> DatabaseUrl:
        return parse_url(self.url)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return _admin_query(self.parsed, sql)

    def execute(self, sql: str) -> None:
        _admin_query(self.parsed, sql, fetch=False)

    def tables(self) -> set[str]:
        if self.dialect == "sqlite":
            rows = self.query(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        elif self.dialect == "postgres":
            rows = self.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        else:
            rows = self.query(
                "SELECT table_name FROM information_schema.tables "
                f"WHERE table_schema = '{self.parsed.database}'"
            )
        return {r[0] for r in rows}

    def versions(self, table: str = "schema_version") -> list[tuple[int, str]]:
        if table not in self.tables():
            return []
        return [(int(v), s) for v, s in self.query(f"SELECT version, status FROM {table} ORDER BY version")]


def _admin_query(u: DatabaseUrl, sql: str, fetch: bool = True) -> list[tuple[Any, ...]]:
    if u.dialect == "sqlite":
        import sqlite3

        conn = sqlite3.connect(u.database, isolation_level=None)
        try:
            cur = conn.execute(sql)
            return cur.fetchall() if fetch else []
        finally:
            conn.close()
    if u.dialect == "postgres":
        import psycopg

        with psycopg.connect(
            host=u.host,
            port=u.port or 5432,
            user=u.user or None,
            password=u.password or None,
            dbname=u.database,
            autocommit=True,
        ) as conn:
            cur = conn.execute(sql)
            return cur.fetchall() if fetch and cur.description else []
    import mysql.connector

    conn = mysql.connector.connect(
        host=u.host,
        port=u.port or 3306,
        user=u.user or "root",
        password=u.password,
        database=u.database or None,
        autocommit=True,
        use_pure=True,
    )
    try:
        cur = conn.cursor()
        cur.execute(sql)
        rows = cur.fetchall() if cur.with_rows else []
        return list(rows) if fetch else []
    finally:
        conn.close()


def _create_scratch(dialect: str, tmp: Path) -> Iterator[Db]:
    if dialect == "sqlite":
        yield Db("sqlite", f"sqlite:///{tmp / 'test.db'}", tmp)
        return
    server = parse_url(_server_url(dialect))
    name = f"mt_{uuid.uuid4().hex[:12]}"
    admin = server.with_database("postgres" if dialect == "postgres" else server.database)
    _admin_query(admin, f"CREATE DATABASE {name}", fetch=False)
    try:
        yield Db(dialect, server.with_database(name).raw, tmp)
    finally:
        if dialect == "postgres":
            _admin_query(
                admin,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()",
            )
            _admin_query(admin, f"DROP DATABASE IF EXISTS {name}", fetch=False)
        else:
            _admin_query(admin, f"DROP DATABASE IF EXISTS {name}", fetch=False)


@pytest.fixture(params=DIALECTS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    yield from _create_scratch(request.param, tmp_path)


@pytest.fixture(params=("postgres", "mysql"))
def server_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    """For behaviour only a server has (passwords, hosts)."""
    yield from _create_scratch(request.param, tmp_path)


@pytest.fixture(params=("sqlite", "postgres"))
def transactional_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    """For behaviour of the dialects whose DDL runs inside a transaction."""
    yield from _create_scratch(request.param, tmp_path)


@pytest.fixture
def mysql_db(tmp_path: Path) -> Iterator[Db]:
    """For MySQL-only statements (LOCK TABLES, USE)."""
    yield from _create_scratch("mysql", tmp_path)


@pytest.fixture
def postgres_db(tmp_path: Path) -> Iterator[Db]:
    """For PostgreSQL-only statements (CONCURRENTLY) and the postgres driver extra."""
    yield from _create_scratch("postgres", tmp_path)


@pytest.fixture
def example_sql(tmp_path: Path) -> Path:
    """A private copy of the bundled example migrations."""
    target = tmp_path / "sql"
    shutil.copytree(EXAMPLE_SQL, target)
    return target


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    input_text: str | None = None,
    timeout: float = 120,
) -> Result:
    """Run `migrator` as users do: a subprocess, checking status, stdout and stderr."""
    # the caller's database and colour settings must not leak into what a test asserts
    full_env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MIGRATOR_URL", "DATABASE_URL", "FORCE_COLOR", "NO_COLOR")
    }
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "migrator", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        input=input_text,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@contextmanager
def connected(db: Db) -> Iterator[Any]:
    """A migrator dialect connected to the test's scratch database, closed afterwards."""
    from migrator.dialects import open_dialect

    dialect = open_dialect(parse_url(db.url))
    dialect.connect()
    try:
        yield dialect
    finally:
        dialect.close()


def answer_on_a_terminal(args: list[str], cwd: Path, answer: str) -> Result:
    """Run `migrator` with stdin on a pseudo-terminal (a person at the keyboard) and type
    `answer`: how a confirmation question is tested."""
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("MIGRATOR_URL", "DATABASE_URL")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "migrator", *args],
        cwd=cwd,
        env=env,
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(slave)
    try:
        os.write(master, answer.encode())
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(master)
    return Result(proc.returncode, out, err)


@pytest.fixture
def cli(tmp_path: Path) -> Any:
    def call(*args: str, **kw: Any) -> Result:
        return run_cli(*args, cwd=kw.pop("cwd", tmp_path), **kw)

    return call


def write_migration(root: Path, folder: str, up: str, down: str = "SELECT 1;\n") -> Path:
    path = root / folder
    path.mkdir(parents=True, exist_ok=True)
    (path / "up.sql").write_text(up, encoding="utf-8")
    (path / "down.sql").write_text(down, encoding="utf-8")
    return path


@pytest.fixture
def sqldir(tmp_path: Path) -> Path:
    path = tmp_path / "sql"
    path.mkdir()
    return path


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "dialect_only(name): a test that needs one dialect")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for container in _started:
        container.stop()


_MEASURE = (
    "import resource, subprocess, sys\n"
    "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stderr.write(r.stderr)\n"
    "print(r.stdout, end='')\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(r.returncode)\n"
)


def run_measured(*args: str, cwd: Path) -> tuple[int, str, str, int]:
    """Run the CLI; exit status, stdout, stderr and its peak RSS in kB. A small python starts
    it: a child forked from the test process would count the test's memory as its own."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(
        [sys.executable, "-c", _MEASURE, sys.executable, "-m", "migrator", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out, _, peak = r.stdout.rstrip("\n").rpartition("\n")
    return r.returncode, out, r.stderr, int(peak)
