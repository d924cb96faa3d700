"""Many targets (SPEC §10): `--targets FILE` or several `--url`, run `--parallel N` at once."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrator.errors import ConfigError, MigratorError
from migrator.urls import mask

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Target:
    url: str
    schema: str | None = None

    @property
    def label(self) -> str:
        return mask(self.url) + (f" schema={self.schema}" if self.schema else "")


@dataclass
class TargetResult:
    target: Target
    exit_code: int
    summary: str
    document: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target.label, "exit_code": self.exit_code,
                "summary": self.summary, "result": self.document}


def read_targets(path: Path) -> list[Target]:
    """One target per line: `URL [schema=NAME]`; `#` comments; `${VAR}` from the environment."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read --targets file {path}: {exc.strerror}") from None
    targets = []
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        line = _expand(line, f"{path}:{number}")
        url, *options = line.split()
        schema = None
        for option in options:
            key, sep, value = option.partition("=")
            if key != "schema" or not sep or not value:
                raise ConfigError(f"{path}:{number}: unknown target option {option!r}",
                                  hint="a line is `URL` or `URL schema=NAME`")
            schema = value
        targets.append(Target(url, schema))
    if not targets:
        raise ConfigError(f"--targets file {path} lists no targets")
    return targets


def _expand(line: str, where: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(f"{where}: ${{{name}}} is not set in the environment")
        return os.environ[name]

    return _VAR.sub(value, line)


def run_targets(targets: list[Target], action: Callable[[Target], TargetResult], *,
                parallel: int, continue_on_error: bool,
                on_done: Callable[[TargetResult], None]) -> list[TargetResult]:
    """Run `action` on every target, `parallel` at once. After a failure, no new target starts
    unless `continue_on_error`; the ones already running finish."""
    failed = threading.Event()
    results: dict[int, TargetResult] = {}

    def guarded(index: int, target: Target) -> TargetResult:
        if failed.is_set() and not continue_on_error:
            return TargetResult(target, 0, "not started: an earlier target failed")
        try:
            result = action(target)
        except MigratorError as exc:
            result = TargetResult(target, exc.exit_code, mask(exc.message), {"error": exc.to_dict()})
        if result.exit_code not in (0, 5):
            failed.set()
        return result

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        futures = {pool.submit(guarded, i, t): i for i, t in enumerate(targets)}
        for future in as_completed(futures):
            result = future.result()
            results[futures[future]] = result
            on_done(result)
    return [results[i] for i in range(len(targets))]
