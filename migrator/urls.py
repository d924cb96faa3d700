"""Database URLs: which dialect, the parts a driver needs, and a form safe to print."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from migrator.dialects.registry import dialect_of_scheme, spec, url_examples
from migrator.errors import ConfigError


@dataclass(frozen=True)
class DatabaseUrl:
    raw: str
    dialect: str
    host: str = ""
    port: int | None = None
    user: str = ""
    password: str = field(default="", repr=False)
    database: str = ""  # sqlite: the file path
    params: tuple[tuple[str, str], ...] = ()
    schema: str = ""  # postgres schema-per-tenant: search_path and the version table live there

    @property
    def masked(self) -> str:
        return mask(self.raw)

    def with_database(self, database: str) -> DatabaseUrl:
        """The same server, another database (scratch databases for tests and verify)."""
        if spec(self.dialect).file_database:
            # an absolute path gives sqlite:////...
            return parse_url(f"{spec(self.dialect).schemes[0]}:///{database}")
        parts = urlsplit(self.raw)
        query = f"?{parts.query}" if parts.query else ""
        return parse_url(f"{parts.scheme}://{parts.netloc}/{database}{query}")


def dialect_of(raw: str) -> str | None:
    """The dialect a URL's scheme names, None when it names none (parse_url says why)."""
    scheme, sep, _ = raw.partition("://")
    return dialect_of_scheme(scheme.lower()) if sep else None


def parse_url(raw: str) -> DatabaseUrl:
    dialect = dialect_of(raw)
    if dialect is None:
        raise ConfigError(
            f"unsupported database URL {mask(raw)!r}",
            hint=f"use {url_examples()}",
        )
    if spec(dialect).file_database:
        return _parse_file(raw, dialect)
    parts = urlsplit(raw)
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"bad port in database URL {mask(raw)!r}: {exc}") from None
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise ConfigError(
            f"database URL {mask(raw)!r} names no database",
            hint="add the database name: postgres://user@host:5432/mydb",
        )
    return DatabaseUrl(
        raw=raw,
        dialect=dialect,
        host=parts.hostname or "localhost",
        port=port,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=database,
        params=tuple(parse_qsl(parts.query)),
    )


def _parse_file(raw: str, dialect: str) -> DatabaseUrl:
    # A database that is a file: sqlite:///relative.db and sqlite:////absolute.db, as SQLAlchemy
    # and dbmate spell them.
    rest = raw.split("://", 1)[1]
    if not rest.startswith("/"):
        raise ConfigError(
            f"bad SQLite URL {raw!r}", hint="use sqlite:///relative.db or sqlite:////abs/path.db"
        )
    path = rest[1:].split("?", 1)[0]
    if not path:
        raise ConfigError(f"SQLite URL {raw!r} names no file", hint="use sqlite:///migrator.db")
    return DatabaseUrl(raw=raw, dialect=dialect, database=unquote(path))


_PASSWORD = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)([^@\s]*)(@)")
_PASSWORD_PARAM = re.compile(r"([?&;](?:password|passwd|pwd)=)([^&\s]*)", re.IGNORECASE)


def mask(text: str) -> str:
    """Any URL in the text with its password (user:pw@ or ?password=) replaced by ***."""
    return _PASSWORD_PARAM.sub(r"\1***", _PASSWORD.sub(r"\1***\3", text))
