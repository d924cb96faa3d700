"""How big the tables a finding touches are on the real database (SPEC section 11).

Sizes come from catalog statistics only, through the dialect's `table_sizes`: lint takes no
lock on that database and never waits for one. Findings are then ordered largest table
first, so the statement that would hurt most is read first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from migrator.lint.model import Finding, TableSize

if TYPE_CHECKING:
    from migrator.dialects import Dialect


def table_sizes(dialect: Dialect, names: Iterable[str]) -> dict[str, TableSize]:
    """The size of each named table that exists on the connected database, by name.

    A table the catalog does not know is left out. When the catalog itself cannot be read at
    once (a lock held on it, a busy sqlite file), every size is unknown rather than waited for.
    """
    from migrator.dialects import StatementError

    wanted = sorted(set(names))
    try:
        stats = dialect.table_sizes(wanted)
    except StatementError:
        return {name: TableSize(name, None, None, note="catalog busy, not waited for") for name in wanted}
    return {s.name: TableSize(s.name, s.rows, s.bytes, note=s.note) for s in stats}


def _size_key(sizes: list[TableSize]) -> tuple[bool, int, bool, int]:
    """The largest of a finding's tables: rows first, then bytes; unknown sorts last."""
    keys = [(t.rows is not None, t.rows or 0, t.bytes is not None, t.bytes or 0) for t in sizes]
    return max(keys, default=(False, 0, False, 0))


def _lookup(sizes: dict[str, TableSize], name: str) -> TableSize | None:
    if name in sizes:
        return sizes[name]
    folded = {key.lower(): size for key, size in sizes.items()}
    return folded.get(name.lower())


def order_by_size(findings: list[Finding], sizes: dict[str, TableSize]) -> list[Finding]:
    """Set each finding's `tables` from the tables it touches, and return the findings
    largest table first (rows, then bytes; unknown sizes last), in their order otherwise."""
    for finding in findings:
        seen: dict[str, TableSize] = {}
        for name in finding.touches:
            size = _lookup(sizes, name)
            if size is not None and size.name not in seen:
                seen[size.name] = size
        finding.tables = list(seen.values())
    # sorted() is stable with reverse=True too: equal sizes keep their order
    return sorted(findings, key=lambda f: _size_key(f.tables), reverse=True)


def _rows(n: int) -> str:
    if n < 1000:
        return f"{n} row" if n == 1 else f"{n} rows"
    for unit, scale in (("bn", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= scale:
            value = n / scale
            number = f"{value:.1f}".rstrip("0").rstrip(".") if value < 10 else f"{value:.0f}"
            return f"{number} {unit} rows"
    raise AssertionError(n)  # pragma: no cover - n >= 1000 matches "k"


def _bytes(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            if unit == "bytes":
                return f"{n} bytes"
            return f"{value:.1f} {unit}".replace(".0 ", " ") if value < 10 else f"{value:.0f} {unit}"
        value /= 1024
    raise AssertionError(n)  # pragma: no cover


def size_phrase(size: TableSize) -> str:
    """`orders (about 80 M rows, 12 GB)`: a table and what the catalog says of its size."""
    parts = []
    if size.rows is not None:
        parts.append(f"about {_rows(size.rows)}")
    if size.bytes is not None:
        parts.append(_bytes(size.bytes) + (f" for {size.note}" if size.note else ""))
    elif size.note:
        parts.append(size.note)
    if not parts:
        parts.append("size unknown")
    return f"{size.name} ({', '.join(parts)})"
