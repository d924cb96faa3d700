"""SIGINT/SIGTERM: remember which one arrived and raise KeyboardInterrupt.

KeyboardInterrupt is what the drivers already handle (psycopg cancels the running query), and
the runner rolls back or records the running file on its way out. The exit status (130/143)
comes from `received`.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

received: int | None = None
_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}
# Statements running in worker threads (several targets) never see KeyboardInterrupt: the
# handler cancels them on the server instead, and their dialect turns the cancelled
# statement back into KeyboardInterrupt in that thread, so the runner rolls back as usual.
# (single dict operations are atomic under the GIL: no lock needed, and no threading import
# at start-up)
_cancellers: dict[int, Callable[[], None]] = {}


def _handler(signum: int, frame: Any) -> None:
    global received
    received = _EXIT.get(signal.Signals(signum), 130)
    for cancel in list(_cancellers.values()):
        try:
            cancel()
        except Exception:  # noqa: BLE001 - the statement may just have ended; stopping goes on
            pass
    raise KeyboardInterrupt


@contextmanager
def cancellable(cancel: Callable[[], None]) -> Iterator[None]:
    """While inside, a SIGINT/SIGTERM calls `cancel` (from the main thread)."""
    key = id(cancel)
    _cancellers[key] = cancel
    try:
        yield
    finally:
        _cancellers.pop(key, None)


def install() -> None:
    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)


def exit_code() -> int:
    return received or 130
