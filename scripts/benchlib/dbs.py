"""Fresh databases per run, URLs in each tool's format, and verification queries.

The bench itself is stdlib only: sqlite is queried in-process, postgres and mysql through
`psql` and `mariadb` (or `mysql`).
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

DIALECTS = ("postgres", "mysql", "sqlite")
SHORT = {"postgres": "pg", "mysql": "mysql", "sqlite": "sqlite"}


class VerifyError(Exception):
    pass


@dataclass
class Server:
    host: str
    port: int
    user: str

    @classmethod
    def parse(cls, url: str, default_port: int, default_user: str) -> Server:
        u = urlsplit(url)
        return cls(u.hostname or "127.0.0.1", u.port or default_port, u.username or default_user)


def mysql_client() -> str:
    return shutil.which("mariadb") or shutil.which("mysql") or "mariadb"


class Database:
    """One fresh database (or sqlite file) for one tool in one run."""

    def __init__(self, dialect: str, scratch: Path, pg: Server, my: Server) -> None:
        self.dialect = dialect
        self.name = "bench_" + secrets.token_hex(5)
        self.pg, self.my = pg, my
        self.path = scratch / f"{self.name}.db"

    # --- lifecycle ---------------------------------------------------------------------------
    def create(self) -> None:
        if self.dialect == "postgres":
            self._admin_pg(f"CREATE DATABASE {self.name}")
        elif self.dialect == "mysql":
            self._admin_my(f"CREATE DATABASE {self.name} CHARACTER SET utf8mb4")
        else:
            self.path.unlink(missing_ok=True)

    def drop(self) -> None:
        try:
            if self.dialect == "postgres":
                self._admin_pg(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            elif self.dialect == "mysql":
                self._admin_my(f"DROP DATABASE IF EXISTS {self.name}")
            else:
                for p in self.path.parent.glob(self.path.name + "*"):
                    p.unlink(missing_ok=True)
        except Exception:  # noqa: BLE001 - cleanup must not stop the bench
            pass

    def settle(self) -> None:
        """Before a timed command: on postgres, a CHECKPOINT, so that the checkpointer's work
        for what ran before is not charged to whichever tool happens to run when it starts."""
        if self.dialect == "postgres":
            try:
                self._admin_pg("CHECKPOINT")
            except Exception:  # noqa: BLE001 - without the privilege, measure unsettled
                pass

    def _admin_pg(self, sql: str) -> None:
        subprocess.run(
            [
                "psql",
                "-XqAt",
                "-h",
                self.pg.host,
                "-p",
                str(self.pg.port),
                "-U",
                self.pg.user,
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def _admin_my(self, sql: str) -> None:
        subprocess.run(
            [mysql_client(), "-h", self.my.host, "-P", str(self.my.port), "-u", self.my.user, "-e", sql],
            check=True,
            capture_output=True,
            timeout=120,
        )

    # --- URLs in every tool's spelling ---------------------------------------------------------
    def migrator_url(self) -> str:
        if self.dialect == "postgres":
            return f"postgresql://{self.pg.user}@{self.pg.host}:{self.pg.port}/{self.name}"
        if self.dialect == "mysql":
            return f"mysql://{self.my.user}@{self.my.host}:{self.my.port}/{self.name}"
        return f"sqlite:///{self.path}"  # absolute path: sqlite:////tmp/...

    def dbmate_url(self) -> str:
        if self.dialect == "postgres":
            return f"postgres://{self.pg.user}@{self.pg.host}:{self.pg.port}/{self.name}?sslmode=disable"
        if self.dialect == "mysql":
            return f"mysql://{self.my.user}@{self.my.host}:{self.my.port}/{self.name}"
        return f"sqlite:{self.path}"

    def yoyo_url(self) -> str:
        if self.dialect == "postgres":
            return f"postgresql+psycopg://{self.pg.user}@{self.pg.host}:{self.pg.port}/{self.name}"
        if self.dialect == "mysql":
            return f"mysql://{self.my.user}@{self.my.host}:{self.my.port}/{self.name}"
        return f"sqlite:///{self.path}"

    def floor_target(self) -> str:
        if self.dialect == "postgres":
            return f"host={self.pg.host} port={self.pg.port} user={self.pg.user} dbname={self.name}"
        if self.dialect == "mysql":
            return f"{self.my.host}:{self.my.port}:{self.my.user}:{self.name}"
        return str(self.path)

    def client_cmd(self, sql_file: Path) -> tuple[list[str], bytes | None, str | None]:
        """The database's own client applying one file in one transaction: argv, stdin bytes, stdin file."""
        if self.dialect == "postgres":
            return (
                [
                    "psql",
                    "-Xq",
                    "-1",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-h",
                    self.pg.host,
                    "-p",
                    str(self.pg.port),
                    "-U",
                    self.pg.user,
                    "-d",
                    self.name,
                    "-f",
                    str(sql_file),
                ],
                None,
                None,
            )
        if self.dialect == "mysql":
            # `mariadb db < file`, with autocommit off and a COMMIT at the end (one transaction for
            # the data; DDL still commits implicitly, as on every mysql tool)
            return (
                [mysql_client(), "-h", self.my.host, "-P", str(self.my.port), "-u", self.my.user, self.name],
                f"SET autocommit=0;\nsource {sql_file}\nCOMMIT;\n".encode(),
                None,
            )
        return (["sqlite3", "-bail", str(self.path)], f"BEGIN;\n.read '{sql_file}'\nCOMMIT;\n".encode(), None)

    # --- queries for verification ----------------------------------------------------------------
    def query_row(self, sql: str) -> list[str]:
        """One row as strings; raises VerifyError with the database's message."""
        if self.dialect == "sqlite":
            if not self.path.exists():
                raise VerifyError("database file does not exist")
            try:
                con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
                try:
                    row = con.execute(sql).fetchone()
                finally:
                    con.close()
            except sqlite3.Error as exc:
                raise VerifyError(str(exc)) from None
            return ["" if v is None else str(v) for v in row]
        if self.dialect == "postgres":
            argv = [
                "psql",
                "-XqAt",
                "-F",
                "\t",
                "-h",
                self.pg.host,
                "-p",
                str(self.pg.port),
                "-U",
                self.pg.user,
                "-d",
                self.name,
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ]
        else:
            argv = [
                mysql_client(),
                "-N",
                "-B",
                "-h",
                self.my.host,
                "-P",
                str(self.my.port),
                "-u",
                self.my.user,
                "-e",
                sql,
                self.name,
            ]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            msg = (p.stderr.strip().splitlines() or ["query failed"])[-1]
            raise VerifyError(msg)
        lines = p.stdout.strip().splitlines()
        return lines[0].split("\t") if lines else []

    def count_tables(self, regex: str, glob: str) -> str:
        if self.dialect == "postgres":
            return (
                "(SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() "
                f"AND table_name ~ '{regex}')"
            )
        if self.dialect == "mysql":
            return (
                "(SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() "
                f"AND table_name REGEXP '{regex}')"
            )
        return f"(SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name GLOB '{glob}')"


def server_version(dialect: str, pg: Server, my: Server) -> str:
    try:
        if dialect == "postgres":
            p = subprocess.run(
                [
                    "psql",
                    "-XqAt",
                    "-h",
                    pg.host,
                    "-p",
                    str(pg.port),
                    "-U",
                    pg.user,
                    "-d",
                    "postgres",
                    "-c",
                    "SHOW server_version",
                ],
                capture_output=True,
                text=True,
                timeout=30,
            )
            return "PostgreSQL " + p.stdout.strip() if p.returncode == 0 else "unreachable"
        if dialect == "mysql":
            p = subprocess.run(
                [
                    mysql_client(),
                    "-N",
                    "-B",
                    "-h",
                    my.host,
                    "-P",
                    str(my.port),
                    "-u",
                    my.user,
                    "-e",
                    "SELECT VERSION()",
                ],
                capture_output=True,
                text=True,
                timeout=30,
            )
            return p.stdout.strip() if p.returncode == 0 else "unreachable"
        cli = subprocess.run(["sqlite3", "--version"], capture_output=True, text=True).stdout.split()
        return f"{sqlite3.sqlite_version} (python module); sqlite3 CLI {cli[0] if cli else '?'}"
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unavailable ({exc})"


def reachable(dialect: str, pg: Server, my: Server) -> str | None:
    """None when the server answers, else why not."""
    if dialect == "sqlite":
        return None
    v = server_version(dialect, pg, my)
    return None if v and "unreachable" not in v and "unavailable" not in v else f"{dialect} server: {v}"


def clean_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not (
            k.startswith("MIGRATOR_")
            or k.startswith("DBMATE_")
            or k.startswith("PG")
            or k in ("DATABASE_URL", "VIRTUAL_ENV", "PYTHONPATH")
        )
    }
    env.pop("NO_COLOR", None)
    # bytecode caching on, as for an installed package (this machine sets PYTHONDONTWRITEBYTECODE=1)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env
