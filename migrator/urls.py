"""Database URLs: which dialect, the parts a driver needs, and a form safe to print."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from migrator.dialects.registry import dialect_of_scheme, spec, url_examples
from migrator.errors import ConfigError
from migrator.masking import mask as mask  # re-exported: callers mask text through urls
from migrator.masking import mask_url, remember


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
        return mask_url(self.raw)

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
            f"unsupported database URL {mask_url(raw)!r}",
            hint=f"use {url_examples()}",
        )
    if spec(dialect).file_database:
        return _parse_file(raw, dialect)
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:  # an unclosed `[` of an IPv6 address; a port that is no number
        # (the parser's own words would quote the "port", which may be half a password)
        what = (
            "its IPv6 host has no closing `]`"
            if "IPv6" in str(exc)
            else "its port is not a number from 0 to 65535"
        )
        raise ConfigError(
            f"malformed database URL {mask_url(raw)!r}: {what}",
            hint="an IPv6 host goes in brackets (postgres://user@[::1]:5432/db); percent-encode "
            "a `/`, `?` or `#` in the password (%2F, %3F, %23)",
        ) from None
    password = unquote(parts.password or "")
    for secret in (
        password,
        parts.password or "",
        *(v for k, v in parse_qsl(parts.query) if k.lower() in _PASSWORD_KEYS),
    ):
        remember(secret)
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise ConfigError(
            f"database URL {mask_url(raw)!r} names no database",
            hint=f"add the database name: {raw.partition('://')[0]}://user@host/mydb",
        )
    return DatabaseUrl(
        raw=raw,
        dialect=dialect,
        host=parts.hostname or "localhost",
        port=port,
        user=unquote(parts.username or ""),
        password=password,
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


_PASSWORD_KEYS = ("password", "passwd", "pwd")
