"""migrator: plain-SQL migrations for SQLite, PostgreSQL and MySQL/MariaDB.

`from migrator import Migrator` gives the library API; the rest is imported on use.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Migrator", "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy so that `migrator --help` does not pay for the library import.
    if name == "Migrator":
        from migrator.api import Migrator

        return Migrator
    if name == "errors":
        import migrator.errors as errors

        return errors
    raise AttributeError(name)
