"""SIGINT/SIGTERM: remember which one arrived and raise KeyboardInterrupt.

KeyboardInterrupt is what the drivers already handle (psycopg cancels the running query), and
the runner rolls back or records the running file on its way out. The exit status (130/143)
comes from `received`.
"""

from __future__ import annotations

import signal
from typing import Any

received: int | None = None
_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


def _handler(signum: int, frame: Any) -> None:
    global received
    received = _EXIT.get(signal.Signals(signum), 130)
    raise KeyboardInterrupt


def install() -> None:
    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)


def exit_code() -> int:
    return received or 130
