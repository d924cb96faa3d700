"""Settings from flags, environment and migrator.toml / [tool.migrator]: flag > env > file > default."""

from __future__ import annotations

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


def load_settings(flags: dict[str, Any], cwd: Path | None = None) -> Settings:
    """Merge flags (None = not given), environment and the config file."""
    cwd = cwd or Path.cwd()
    file_values = _read_config_file(cwd)
    env = os.environ

    def pick(key: str, env_names: tuple[str, ...], default: Any) -> tuple[Any, str]:
        if flags.get(key) is not None:
            return flags[key], f"--{key.replace('_', '-')}"
        for name in env_names:
            if env.get(name):
                return env[name], name
        if key in file_values:
            return file_values[key], "config file"
        return default, "default"

    url, url_source = pick("url", ("MIGRATOR_URL", "DATABASE_URL"), DEFAULT_URL)
    if isinstance(url, list):  # --url may be repeated; one URL here, several mean targets
        url = url[-1]
    directory, _ = pick("dir", ("MIGRATOR_DIR",), "sql")
    table, _ = pick("table", ("MIGRATOR_TABLE",), "schema_version")
    lock_timeout, _ = pick("lock_timeout", ("MIGRATOR_LOCK_TIMEOUT",), 60)
    lock_wait, _ = pick("lock_wait_timeout", ("MIGRATOR_LOCK_WAIT_TIMEOUT",), None)
    statement, _ = pick("statement_timeout", ("MIGRATOR_STATEMENT_TIMEOUT",), None)
    backup_dir, _ = pick("backup_dir", ("MIGRATOR_BACKUP_DIR",), "backups")
    batch_pause, _ = pick("batch_pause", ("MIGRATOR_BATCH_PAUSE",), None)
    settings = Settings(
        url=str(url),
        url_source=url_source,
        dir=Path(directory),
        table=str(table),  # checked against the URL's database by Settings itself
        lock_timeout_s=_seconds(lock_timeout, "--lock-timeout"),
        timeouts=Timeouts(
            _duration(lock_wait, "--lock-wait-timeout"), _duration(statement, "--statement-timeout")
        ),
        backup_dir=Path(backup_dir),
        batch_pause_s=(_duration(batch_pause, "--batch-pause") or 0) / 1000,
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
    for raw in env_path.read_text(encoding="utf-8").splitlines():
        line = raw.strip().removeprefix("export ").strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if (key.startswith("MIGRATOR_") or key == "DATABASE_URL") and key not in os.environ:
            os.environ[key] = value


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
    limit = facts.identifier_limit
    if limit is None:
        return name
    history = table + HISTORY_SUFFIX
    if len(history) > limit:
        raise ConfigError(
            f"version table name {name!r} is too long for {dialect}: its history table "
            f"{history} would be {len(history)} characters, and {dialect} keeps at most "
            f"{limit}"
            + (
                " (longer names are cut short, so the two tables could become one)"
                if facts.truncates_identifiers
                else ""
            ),
            hint=f"use a name of at most {limit - len(HISTORY_SUFFIX)} characters",
        )
    if schema and len(schema[0]) > limit:
        raise ConfigError(
            f"schema name {schema[0]!r} in --table {name} is {len(schema[0])} "
            f"characters; {dialect} keeps at most {limit}"
        )
    return name


def _seconds(value: Any, flag: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{flag} takes a number of seconds, got {value!r}") from None
    if seconds < 0:
        raise ConfigError(f"{flag} cannot be negative")
    return seconds


def _duration(value: Any, flag: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return parse_duration_ms(str(value))
    except ValueError as exc:
        raise ConfigError(f"{flag}: {exc}") from None


def _read_config_file(cwd: Path) -> dict[str, Any]:
    toml_path = cwd / "migrator.toml"
    if toml_path.is_file():
        return _normalise_keys(_load_toml(toml_path), toml_path)
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        data = _load_toml(pyproject)
        return _normalise_keys(data.get("tool", {}).get("migrator", {}), pyproject)
    return {}


def _load_toml(path: Path) -> dict[str, Any]:
    import tomllib  # only when a config file exists: it costs start-up time

    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


# Every key the config file may hold; anything else is a typo that would be silently ignored.
KNOWN_KEYS = (
    "url",
    "dir",
    "table",
    "lock_timeout",
    "lock_wait_timeout",
    "statement_timeout",
    "backup_dir",
    "batch_pause",
    "write_schema",
    "ignore",
)


def _normalise_keys(data: dict[str, Any], where: Path) -> dict[str, Any]:
    values = {str(k).replace("-", "_"): v for k, v in data.items()}
    unknown = sorted(k for k in values if k not in KNOWN_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
            hint=f"known settings: {', '.join(KNOWN_KEYS)}",
        )
    return values
