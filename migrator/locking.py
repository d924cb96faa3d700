"""The one loop that waits for the migration lock (SPEC §4), over each dialect's try_lock."""

from __future__ import annotations

import time

from migrator import signals
from migrator.dialects import Dialect
from migrator.errors import LockTimeoutError

POLL_S = 0.05


def acquire_lock(dialect: Dialect, key: str, timeout_s: float) -> None:
    """Hold the migration lock for `key`, or raise LockTimeoutError naming its holder after
    `timeout_s`. A signal ends the wait (a worker thread sees it only through `received`)."""
    deadline = time.monotonic() + timeout_s
    while not dialect.try_lock(key):
        if signals.received:
            raise KeyboardInterrupt
        if time.monotonic() >= deadline:
            raise LockTimeoutError(
                f"could not get the migration lock within {timeout_s:g}s; held by {dialect.lock_holder()}",
                hint="wait for the other run to finish, or raise --lock-timeout",
            )
        time.sleep(POLL_S)
