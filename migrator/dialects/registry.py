"""Every dialect migrator knows, and the facts other modules look up by its name.

One entry per dialect; adding a dialect means adding its modules and one entry here. Entries
are plain data read at start-up (URL schemes, config checks), so this module imports no driver,
no lexer and compiles no regex: code is named by import path and imported only when used.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from migrator.dialects.lexrules import LexRules

if TYPE_CHECKING:
    from migrator.dialects import Dialect


@dataclass(frozen=True, slots=True)
class DialectSpec:
    name: str
    schemes: tuple[str, ...]  # URL schemes that choose it
    url_example: str  # shown when a URL's scheme names no dialect
    dialect_class: str  # "module:Class" of its Dialect; importing it may need the driver
    snapshot: str  # module whose read(dialect) lists the schema objects (migrator.snapshot)
    # "module:attribute" of the tool migrator.backup dumps it with; "" when the database is a
    # single file that sqlite3's backup API copies
    backup: str
    lex: LexRules  # how its SQL splits into statements (migrator.lexer)
    # The URL names a file (sqlite:///path.db), not a database on a server.
    file_database: bool = False
    # The longest identifier the database keeps, in bytes; None: no limit worth checking.
    identifier_limit: int | None = None
    # A longer identifier is silently cut short (postgres NAMEDATALEN-1), not refused.
    truncates_identifiers: bool = False
    # Table names starting with this belong to the database itself.
    reserved_prefix: str = ""
    # Schema names starting with this belong to the database itself (`--table schema.table`);
    # compared as written, since migrator quotes the name: postgres takes "PG_x", not "pg_x".
    reserved_schema_prefix: str = ""
    # Schemas inside one database: `schema=NAME` targets and `--table schema.table`.
    schemas: bool = False


_SPECS: Final = (
    DialectSpec(
        name="sqlite",
        schemes=("sqlite",),
        url_example="sqlite:///path.db",
        dialect_class="migrator.dialects.sqlite:SqliteDialect",
        snapshot="migrator.snapshot.sqlite",
        backup="",
        lex=LexRules(blocks="trigger-body", backtick_idents=True, bracket_idents=True),
        file_database=True,
        reserved_prefix="sqlite_",
    ),
    DialectSpec(
        name="postgres",
        schemes=("postgres", "postgresql"),
        url_example="postgres://user@host/db",
        dialect_class="migrator.dialects.postgres:PostgresDialect",
        snapshot="migrator.snapshot.postgres",
        backup="migrator.backup:PG_DUMP",
        lex=LexRules(
            blocks="begin-atomic",
            e_strings=True,
            dollar_quotes=True,
            nested_comments=True,
            cr_ends_line_comment=True,
        ),
        identifier_limit=63,
        truncates_identifiers=True,
        reserved_schema_prefix="pg_",  # CREATE SCHEMA pg_x: "unacceptable schema name"
        schemas=True,
    ),
    DialectSpec(
        name="mysql",  # MySQL and MariaDB
        schemes=("mysql", "mariadb"),
        url_example="mysql://user@host/db",
        dialect_class="migrator.dialects.mysql:MysqlDialect",
        snapshot="migrator.snapshot.mysql",
        backup="migrator.backup:MARIADB_DUMP",
        lex=LexRules(
            blocks="compound-statement",
            backslash_escapes=True,
            double_quote_strings=True,
            backtick_idents=True,
            hash_comments=True,
            dash_comment_needs_space=True,
            executable_comments=True,
            delimiter_command=True,
        ),
        identifier_limit=64,
    ),
)

_BY_NAME: Final = {s.name: s for s in _SPECS}
_BY_SCHEME: Final = {scheme: s.name for s in _SPECS for scheme in s.schemes}

# Dialect names, in the order loops and messages list them.
DIALECTS: Final = tuple(_BY_NAME)


def spec(dialect: str) -> DialectSpec:
    """The entry of a dialect named by DIALECTS; ValueError for any other name."""
    found = _BY_NAME.get(dialect)
    if found is None:
        raise ValueError(f"unknown dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")
    return found


def dialect_of_scheme(scheme: str) -> str | None:
    """The dialect a URL scheme (lower case) chooses, or None."""
    return _BY_SCHEME.get(scheme)


def url_examples() -> str:
    """One example URL per dialect, for hints: "a, b or c"."""
    examples = [s.url_example for s in _SPECS]
    return ", ".join(examples[:-1]) + " or " + examples[-1] if len(examples) > 1 else examples[0]


def load(target: str) -> Any:
    """The object a "module:attribute" path names, importing its module now."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def dialect_class(dialect: str) -> type[Dialect]:
    """The Dialect subclass of a dialect; imports its module (not necessarily its driver)."""
    cls: type[Dialect] = load(spec(dialect).dialect_class)
    return cls
