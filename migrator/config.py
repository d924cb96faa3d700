"""Settings from flags, environment and migrator.toml / [tool.migrator]: flag > env > file > default."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrator.dialects.registry import spec
from migrator.errors import ConfigError
from migrator.model import Timeouts, parse_duration_ms
from migrator.urls import dialect_of

DEFAULT_URL = "sqlite:///migrator.db"
# Every name _TABLE accepts is ASCII: its length in characters is its length in bytes, which is
# what a dialect's identifier_limit counts.
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
HISTORY_SUFFIX = "_history"
REPEATABLE_SUFFIX = "_repeatable"  # checked only once a project has repeatable migrations


@dataclass
class Settings:
    url: str = DEFAULT_URL
    url_source: str = "default"
    dir: Path = Path("sql")
    table: str = "schema_version"
    lock_timeout_s: float = 60.0
    timeouts: Timeouts = field(default_factory=Timeouts)
    backup_dir: Path = Path("backups")
    batch_pause_s: float = 0.0
    schema: str = ""  # postgres schema per tenant (--targets `schema=NAME`)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # here, not only in load_settings: the library builds Settings too, and a name the
        # database would truncate or refuse must never reach it
        validate_table(self.table, dialect_of(self.url))
        _check_seconds(self.lock_timeout_s, "lock_timeout", self.lock_timeout_s)


# the settings a command line may carry, besides --url (one database or one per target)
COMMAND_LINE_SETTINGS = (
    "dir",
    "table",
    "lock_timeout",
    "lock_wait_timeout",
    "statement_timeout",
    "batch_pause",
    "backup_dir",
)


def load_settings(flags: dict[str, Any], cwd: Path | None = None) -> Settings:
    """Merge flags (None = not given), environment and the config file."""
    cwd = cwd or Path.cwd()
    file_values, file_label = _read_config_file(cwd)
    env = os.environ

    def pick(key: str, env_names: tuple[str, ...], default: Any) -> tuple[Any, str]:
        if flags.get(key) is not None:
            return flags[key], f"--{key.replace('_', '-')}"
        for name in env_names:
            if env.get(name):
                return env[name], name
        if key in file_values:
            return file_values[key], f"{key} in {file_label}"
        return default, "default"

    url, url_source = pick("url", ("MIGRATOR_URL", "DATABASE_URL"), DEFAULT_URL)
    if isinstance(url, list):  # --url may be repeated; one URL here, several mean targets
        url = url[-1]
    directory, dir_source = pick("dir", ("MIGRATOR_DIR",), "sql")
    table, _ = pick("table", ("MIGRATOR_TABLE",), "schema_version")
    lock_timeout, lock_source = pick("lock_timeout", ("MIGRATOR_LOCK_TIMEOUT",), 60)
    lock_wait, lock_wait_source = pick("lock_wait_timeout", ("MIGRATOR_LOCK_WAIT_TIMEOUT",), None)
    statement, statement_source = pick("statement_timeout", ("MIGRATOR_STATEMENT_TIMEOUT",), None)
    backup_dir, backup_source = pick("backup_dir", ("MIGRATOR_BACKUP_DIR",), "backups")
    batch_pause, pause_source = pick("batch_pause", ("MIGRATOR_BATCH_PAUSE",), None)
    settings = Settings(
        url=str(url),
        url_source=url_source,
        dir=_folder(directory, dir_source, "sql"),
        table=str(table),  # checked against the URL's database by Settings itself
        lock_timeout_s=_seconds(lock_timeout, lock_source),
        timeouts=Timeouts(_duration(lock_wait, lock_wait_source), _duration(statement, statement_source)),
        backup_dir=_folder(backup_dir, backup_source, "backups"),
        batch_pause_s=(_duration(batch_pause, pause_source) or 0) / 1000,
        extra={k: v for k, v in file_values.items()},
    )
    return settings


def load_env_file(path: str | None) -> None:
    """Twelve-factor `.env`: MIGRATOR_* and DATABASE_URL lines, never overriding the environment."""
    env_path = Path(path or ".env")
    if not env_path.is_file():
        if path:
            raise ConfigError(f"--env-file {path}: no such file")
        return
    real = dict(os.environ)  # what was set before the file: the file never overrides it
    for raw in _read_text(env_path, str(env_path)).splitlines():
        line = raw.strip().removeprefix("export ").strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if (key.startswith("MIGRATOR_") or key == "DATABASE_URL") and not _set_in(real, key):
            os.environ[key] = value


# MIGRATOR_URL and DATABASE_URL name one setting: a URL in the real environment under either
# name wins over both in .env (a .env MIGRATOR_URL must not outrank the DATABASE_URL a deploy set).
_URL_VARIABLES = ("MIGRATOR_URL", "DATABASE_URL")


def _set_in(environment: dict[str, str], key: str) -> bool:
    if key in environment:
        return True
    return key in _URL_VARIABLES and any(environment.get(name) for name in _URL_VARIABLES)


def validate_table(name: str, dialect: str | None = None) -> str:
    """A plain identifier (schema.table on postgres); with the dialect known, also one the
    database keeps as it is, together with its `<table>_history` (SPEC §2)."""
    if not _TABLE.match(name):
        raise ConfigError(
            f"invalid version table name {name!r}",
            hint="use a plain identifier such as schema_version (schema.table on postgres)",
        )
    *schema, table = name.split(".")
    if dialect is None:
        return name
    facts = spec(dialect)
    reserved = facts.reserved_prefix
    if reserved and table.lower().startswith(reserved):
        raise ConfigError(
            f"version table name {name!r}: {dialect} reserves names that start with {reserved} for itself",
            hint="use a name such as schema_version",
        )
    reserved = facts.reserved_schema_prefix
    if schema and reserved and schema[0].startswith(reserved):
        raise ConfigError(
            f"version table name {name!r}: {dialect} reserves schema names that start with "
            f"{reserved} for itself",
            hint=f"put the table in a schema of your own, such as app.{table}, or leave the schema out",
        )
    limit = facts.identifier_limit
    if limit is None:
        return name
    _check_length(name, table, HISTORY_SUFFIX, "history", dialect)
    if schema and len(schema[0]) > limit:
        raise ConfigError(
            f"schema name {schema[0]!r} in --table {name} is {len(schema[0])} "
            f"characters; {dialect} keeps at most {limit}"
        )
    return name


def check_repeatable_table(name: str, dialect: str) -> None:
    """`<table>_repeatable` exists only once a project has repeatable migrations (SPEC §2,
    §12): then it, too, must be a name the database keeps as it is."""
    _check_length(name, name.split(".")[-1], REPEATABLE_SUFFIX, "repeatable-migrations", dialect)


def _check_length(name: str, table: str, suffix: str, what: str, dialect: str) -> None:
    facts = spec(dialect)
    limit = facts.identifier_limit
    longest = table + suffix
    if limit is None or len(longest) <= limit:
        return
    raise ConfigError(
        f"version table name {name!r} is too long for {dialect}: its {what} table {longest} "
        f"would be {len(longest)} characters, and {dialect} keeps at most {limit}"
        + (
            " (longer names are cut short, so the two tables could become one)"
            if facts.truncates_identifiers
            else ""
        ),
        hint=f"use a name of at most {limit - len(suffix)} characters",
    )


def _read_text(path: Path, shown: str) -> str:
    """A settings file's text; one that is not UTF-8 is named with the offending byte."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {shown}: {exc.strerror}") from None
    try:
        return raw.decode("utf-8-sig")  # a BOM (Windows editors) must not hide the first line
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{shown}: invalid UTF-8 at byte offset {exc.start}",
            hint=f'save {shown} as UTF-8 text (an editor\'s "Save with encoding" does it)',
        ) from None


def _folder(value: Any, source: str, example: str) -> Path:
    if not str(value).strip():  # Path("") is the working directory: never what was meant
        raise ConfigError(f"{source} is empty", hint=f"name a folder, such as {example}")
    return Path(value)


def _seconds(value: Any, source: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{source} takes a number of seconds, got {value!r}") from None
    _check_seconds(seconds, source, value)
    return seconds


def _check_seconds(seconds: float, source: str, given: Any) -> None:
    # nan compares false with everything: a lock wait with a nan deadline never ends, and a
    # driver handed one fails deep inside; inf is a wait that never ends either
    if not math.isfinite(seconds):
        raise ConfigError(
            f"{source} takes a finite number of seconds, got {given!r}",
            hint="to wait a long time, give a large number such as 3600",
        )
    if seconds < 0:
        raise ConfigError(f"{source} cannot be negative", hint="0 means do not wait")


def _duration(value: Any, source: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return parse_duration_ms(str(value))
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _read_config_file(cwd: Path) -> tuple[dict[str, Any], str]:
    """The config file's settings and how messages name the file."""
    toml_path = cwd / "migrator.toml"
    if toml_path.is_file():
        return _checked(_load_toml(toml_path), "migrator.toml"), "migrator.toml"
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        tool = _load_toml(pyproject).get("tool")
        section = tool.get("migrator", {}) if isinstance(tool, dict) else {}
        where = "[tool.migrator] of pyproject.toml"
        if not isinstance(section, dict):
            raise ConfigError(f"{where} is not a table", hint="write it as a [tool.migrator] section")
        return _checked(section, where), where
    return {}, ""


def _load_toml(path: Path) -> dict[str, Any]:
    import tomllib  # only when a config file exists: it costs start-up time

    try:
        return tomllib.loads(_read_text(path, path.name))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: not valid TOML: {exc}") from None


# What each setting holds, as TOML writes it: (accepted types, what it is, an example). TOML
# has types, so a wrong one is a mistake to name, never a value to convert: `dir = 5` is no
# folder, and `table = true` must not become a table called "True".
_TEXT = (str,)
_NUMBER = (int, float)
_DURATION = 'a duration such as "5s" (a bare number means seconds)'
_SHAPES: dict[str, tuple[tuple[type, ...], str, str]] = {
    "url": (_TEXT, "a database URL in quotes", 'url = "postgres://app@localhost:5432/app"'),
    "dir": (_TEXT, "a folder name in quotes", 'dir = "sql"'),
    "table": (_TEXT, "a table name in quotes", 'table = "schema_version"'),
    "lock_timeout": (_NUMBER + _TEXT, "a number of seconds", "lock_timeout = 60"),
    "lock_wait_timeout": (_NUMBER + _TEXT, _DURATION, 'lock_wait_timeout = "5s"'),
    "statement_timeout": (_NUMBER + _TEXT, _DURATION, 'statement_timeout = "10min"'),
    "backup_dir": (_TEXT, "a folder name in quotes", 'backup_dir = "backups"'),
    "batch_pause": (_NUMBER + _TEXT, _DURATION, 'batch_pause = "100ms"'),
    "write_schema": ((bool,), "true or false", "write_schema = true"),
    "ignore": ((list,), "a list of KIND:GLOB strings", 'ignore = ["table:audit_*"]'),
    "lint": ((dict,), "a [lint] table", 'lint = { disable = ["rename-column"] }'),
}
# Every key the config file may hold; anything else is a typo that would be silently ignored.
KNOWN_KEYS = tuple(_SHAPES)


def _checked(data: dict[str, Any], where: str) -> dict[str, Any]:
    values = {str(k).replace("-", "_"): v for k, v in data.items()}
    unknown = sorted(k for k in values if k not in KNOWN_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
            hint=f"known settings: {', '.join(KNOWN_KEYS)}",
        )
    for key, value in values.items():
        types, what, example = _SHAPES[key]
        wrong = isinstance(value, bool) and bool not in types  # True is an int to Python
        if key == "ignore" and isinstance(value, list):
            wrong = not all(isinstance(item, str) for item in value)
        if wrong or not isinstance(value, types):
            raise ConfigError(
                f"{where}: {key} must be {what}, not {_toml(value)}", hint=f"for example: {example}"
            )
    return values


def _toml(value: Any) -> str:
    import json

    return json.dumps(value, default=str)
