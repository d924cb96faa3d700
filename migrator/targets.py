"""Many targets (SPEC §10): `--targets FILE` or several `--url`, run `--parallel N` at once."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrator import signals
from migrator.errors import ConfigError, Interrupted, MigratorError, StoppedError
from migrator.masking import mask, mask_url

_COMMENT = re.compile(r"(?:^|\s)#.*")  # a `#` inside a URL (an unencoded password) is no comment
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Target:
    url: str
    schema: str | None = None

    @property
    def label(self) -> str:
        return mask_url(self.url) + (f" schema={self.schema}" if self.schema else "")


@dataclass
class TargetResult:
    target: Target
    exit_code: int
    summary: str
    document: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target.label,
            "exit_code": self.exit_code,
            "summary": self.summary,
            "result": self.document,
        }


def read_targets(path: Path) -> list[Target]:
    """One target per line: `URL [schema=NAME]`; `#` comments; `${VAR}` from the environment.
    A password may hold spaces (libpq takes them unencoded): the URL is the line up to its
    trailing `key=value` options."""
    try:
        lines = path.read_bytes().decode("utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read --targets file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"--targets file {path} is not UTF-8 (invalid byte at offset {exc.start})",
            hint="save it as UTF-8",
        ) from None
    targets = []
    for number, raw in enumerate(lines, start=1):
        line = _COMMENT.sub("", raw).strip()
        if not line:
            continue
        line = _expand(line, f"{path}:{number}")
        url, options = _split_options(line)
        _, _, after_password = url.rpartition("@")
        if len(after_password.split()) > 1:  # words past the password: safe to show
            raise ConfigError(
                f"{path}:{number}: unexpected {' '.join(after_password.split()[1:])!r} after the URL",
                hint="a line is `URL` or `URL schema=NAME`",
            )
        schema = None
        for key, value in options:
            if key != "schema" or not value:
                raise ConfigError(
                    f"{path}:{number}: unknown target option {key}={mask(value)}",
                    hint="a line is `URL` or `URL schema=NAME`",
                )
            schema = value
        targets.append(Target(url, schema))
    if not targets:
        raise ConfigError(f"--targets file {path} lists no targets")
    return targets


# A trailing option: a name, `=`, a value without the characters a URL's tail has.
_OPTION = re.compile(r"\s+([A-Za-z_][A-Za-z0-9_-]*)=([^\s@/:]*)$")


def _split_options(line: str) -> tuple[str, list[tuple[str, str]]]:
    """The URL and the `key=value` options after it. Words that are no option belong to the
    URL (a password with a space), never to an error message that would print them."""
    options: list[tuple[str, str]] = []
    while match := _OPTION.search(line):
        options.insert(0, (match.group(1), match.group(2)))
        line = line[: match.start()]
    return line, options


def _expand(line: str, where: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(f"{where}: ${{{name}}} is not set in the environment")
        return os.environ[name]

    return _VAR.sub(value, line)


StopCheck = Callable[[], bool]
# A target that stopped, or never started, because another one failed: exit 1, the lowest
# failure status (SPEC §6), so the run's overall status stays that of the target that failed.
EXIT_NOT_RUN = 1


def run_targets(
    targets: list[Target],
    action: Callable[[int, Target, StopCheck], TargetResult],
    *,
    parallel: int,
    continue_on_error: bool,
    on_done: Callable[[int, TargetResult], None],
) -> tuple[list[TargetResult], int]:
    """Run `action` on every target, `parallel` at once; return each target's result, in the
    order given, and the run's exit status: the highest of theirs and of the signal's, if any.

    After a failure no new target starts and the running ones stop after their current file
    (the action passes the StopCheck on to the runner), unless `continue_on_error`. On
    KeyboardInterrupt (SIGINT/SIGTERM) nothing new starts and every running target stops: after
    its current file, or with that file rolled back where the dialect sees the signal (sqlite)."""
    failed, interrupted = threading.Event(), threading.Event()

    def stop() -> bool:
        return interrupted.is_set() or (failed.is_set() and not continue_on_error)

    def guarded(index: int, target: Target) -> TargetResult:
        if stop():
            why = "interrupted" if interrupted.is_set() else "an earlier target failed"
            return TargetResult(target, EXIT_NOT_RUN, f"not started: {why}")
        try:
            result = action(index, target, stop)
        except StoppedError as exc:
            why = "interrupted" if interrupted.is_set() else "another target failed"
            result = TargetResult(
                target,
                exc.exit_code,
                f"stopped {exc.where}: {why} ({len(exc.done)} done, {len(exc.left)} not run)",
                {"error": exc.to_dict()},
            )
        except Interrupted as exc:
            result = _interrupted(target, exc)
        except MigratorError as exc:
            result = TargetResult(target, exc.exit_code, mask(exc.message), {"error": exc.to_dict()})
        except KeyboardInterrupt:  # the signal cut a statement short before any run began
            result = _interrupted(target, Interrupted("up", [], signals.exit_code()))
        if result.exit_code not in (0, 5):
            failed.set()
        return result

    results: dict[int, TargetResult] = {}

    def collect(future: Future[TargetResult], index: int) -> None:
        results[index] = future.result()
        on_done(index, results[index])

    signal_code = 0
    pool = ThreadPoolExecutor(max_workers=max(1, parallel))
    futures = {pool.submit(guarded, i, t): i for i, t in enumerate(targets)}
    try:
        for future in as_completed(futures):
            collect(future, futures[future])
    except KeyboardInterrupt:
        interrupted.set()  # each running target finishes its file, then stops; none starts
        pool.shutdown(wait=True)
        for future, index in futures.items():
            if index not in results:
                collect(future, index)
        signal_code = signals.exit_code()
    except BaseException:
        interrupted.set()  # a bug in one target: the others stop after their file, then it shows
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    ordered = [results[i] for i in range(len(targets))]
    return ordered, max([signal_code] + [r.exit_code for r in ordered])


def _interrupted(target: Target, exc: Interrupted) -> TargetResult:
    summary = f"interrupted: {exc.outcome}"
    return TargetResult(target, exc.exit_code, summary, {"error": {**exc.to_dict(), "message": summary}})
