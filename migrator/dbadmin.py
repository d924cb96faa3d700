"""`create`, `drop` and `up --create`: the database at --url itself, not what is in it.

The dialect knows how to reach its server without the database and the SQL for it; this
module decides: what exists already, who else is connected, what to ask, what a refusal
means. Creating an existing database and dropping a missing one succeed and say so, so a
deploy script or a CI job can run them every time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from migrator.dialects import Dialect, StatementError, open_dialect
from migrator.dialects.registry import spec
from migrator.errors import MigratorError, PrivilegeError, RefusedError, UsageError
from migrator.urls import DatabaseUrl

_PRIVILEGE_HINT = {
    "create": "connect as a user who may create databases (postgres: CREATEDB; mysql: the CREATE "
    "privilege), or have an administrator create it and run without --create",
    "drop": "connect as its owner or a user who may drop it (postgres: the owner or a superuser; "
    "mysql: the DROP privilege)",
}


@dataclass(frozen=True)
class DatabaseResult:
    command: str  # create, drop
    url: str  # masked
    database: str  # sqlite: the file
    changed: bool  # False: it existed already (create) or did not exist (drop)
    note: str = ""  # what "does not exist" may also mean for this user

    @property
    def summary(self) -> str:
        if self.command == "create":
            return (
                f"created database {self.database}"
                if self.changed
                else (f"database {self.database} exists already; nothing to do")
            )
        if self.changed:
            return f"dropped database {self.database}"
        note = f" ({self.note})" if self.note else ""
        return f"database {self.database} does not exist{note}; nothing to do"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def create(url: DatabaseUrl) -> DatabaseResult:
    """Create the database unless it exists."""
    with _server(url, "create") as dialect:
        if dialect.database_exists():
            return DatabaseResult("create", url.masked, url.database, changed=False)
        try:
            dialect.create_database()
        except StatementError:
            if dialect.database_exists():  # another run created it a moment ago
                return DatabaseResult("create", url.masked, url.database, changed=False)
            raise
    return DatabaseResult("create", url.masked, url.database, changed=True)


def exists(url: DatabaseUrl) -> bool:
    """Does the database exist? (Read only: nothing is created.)"""
    with _server(url, "find") as dialect:
        return dialect.database_exists()


def drop(url: DatabaseUrl, *, confirm: Callable[[str], bool] | None = None) -> DatabaseResult:
    """Drop the database if it exists and no one else is connected to it. `confirm(name)` is
    asked once that is known; declined: RefusedError, nothing changed."""
    with _server(url, "drop") as dialect:
        if not dialect.database_exists():
            hidden = "" if dialect.sees_every_database() else "or this user has no privilege on it"
            return DatabaseResult("drop", url.masked, url.database, changed=False, note=hidden)
        _refuse_if_in_use(dialect, dialect.other_sessions())
        if confirm is not None and not confirm(url.database):
            raise RefusedError(f"drop cancelled; database {url.database} was not changed")
        dialect.drop_database()
    return DatabaseResult("drop", url.masked, url.database, changed=True)


@contextmanager
def _server(url: DatabaseUrl, command: str) -> Iterator[Dialect]:
    """A connection to the database's server (not to the database); the database's refusals
    translated into what they mean for `command`."""
    _check_name(url)
    dialect = open_dialect(url)
    dialect.connect_server()
    try:
        yield dialect
    except StatementError as exc:
        raise _refused(dialect, exc, command) from None
    finally:
        dialect.close()


def _check_name(url: DatabaseUrl) -> None:
    limit = spec(url.dialect).identifier_limit
    if limit is not None and len(url.database.encode()) > limit:
        raise UsageError(
            f"database name {url.database!r} is {len(url.database.encode())} bytes; "
            f"{url.dialect} keeps at most {limit}",
            hint="choose a shorter name in the URL",
        )


def _refuse_if_in_use(dialect: Dialect, sessions: list[str]) -> None:
    if not sessions:
        return
    shown = ", ".join(sessions[:5]) + (f" and {len(sessions) - 5} more" if len(sessions) > 5 else "")
    raise RefusedError(
        f"database {dialect.url.database} has {len(sessions)} other "
        f"session{'s' if len(sessions) != 1 else ''} connected "
        f"({shown}); nothing was dropped",
        hint="stop the applications using it and run drop again",
    )


def _refused(dialect: Dialect, exc: StatementError, command: str) -> Exception:
    kind = dialect.admin_errors.get(exc.code.split("/")[0], "")
    what = f"{command} database {dialect.url.database}"
    if kind == "denied":
        return PrivilegeError(f"not allowed to {what}: {exc.message}", hint=_PRIVILEGE_HINT.get(command, ""))
    if kind == "in-use":
        return RefusedError(
            f"cannot {what}: {exc.message}; nothing was dropped",
            hint="stop the applications using it and run drop again",
        )
    return MigratorError(f"cannot {what}: {exc.message}" + (f" [{exc.code}]" if exc.code else ""))
