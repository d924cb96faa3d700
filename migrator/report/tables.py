"""The text tables of `status` and `history`: columns two spaces apart.

A table fits the width it is read at (output_width: the terminal's, or when piped COLUMNS,
else 80): columns empty in every row go, then `optional` columns, then the `shrink` columns
give way with an ellipsis, down to their least width. States are coloured on a terminal
(piped, only with FORCE_COLOR). `--json` has every value whole.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from migrator.report import colour_wanted

Row = tuple[str, ...]

PIPED_WIDTH = 80  # a pager, a file or a CI log: the width people read text at
LEAST_WIDTH = 12  # a shrunk column keeps at least this much (or its heading)

# One meaning per colour, as in the progress display: green applied, yellow pending (or on
# its way), red failed or drift.
_PAINTED_COLUMNS = ("state", "outcome")
_STATE_COLOURS = {
    "applied": "32",
    "ok": "32",
    "pending": "33",
    "backfilling": "33",
    "failed": "31",
    "running": "31",
    "missing": "31",
}


def output_width() -> int:
    """The width standard output is read at: the terminal's; piped or redirected, COLUMNS when
    it is set (the reader says how wide), else 80 (`status | less`, a log)."""
    import shutil

    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else PIPED_WIDTH


def table_lines(
    head: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    shrink: tuple[str, ...] = ("name",),
    least: Mapping[str, int] | None = None,
    optional: tuple[str, ...] = (),
) -> list[str]:
    """The table's lines for standard output as it is now; none without rows. Line 0 is the
    heading, line i + 1 is row i."""
    if not rows:
        return []
    head, fitted = fit_table(
        tuple(head), [tuple(r) for r in rows], output_width(), shrink, least=least, optional=optional
    )
    return _draw(head, fitted, colour_wanted(sys.stdout.isatty()))


def _draw(head: Row, rows: list[Row], colour: bool) -> list[str]:
    widths = _widths(head, rows)
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*head).rstrip()]
    painted = [i for i, h in enumerate(head) if h in _PAINTED_COLUMNS] if colour else []
    for r in rows:
        cells = [r[i].ljust(widths[i]) for i in range(len(r))]
        for i in painted:
            code = _STATE_COLOURS.get(r[i].split(",")[0])
            if code:
                cells[i] = f"\033[{code}m{r[i]}\033[0m" + " " * (widths[i] - len(r[i]))
        lines.append("  ".join(cells).rstrip())
    return lines


def _widths(head: Row, rows: list[Row]) -> list[int]:
    return [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]


def _keep(head: Row, rows: list[Row], keep: list[int]) -> tuple[Row, list[Row]]:
    return tuple(head[i] for i in keep), [tuple(r[i] for i in keep) for r in rows]


def fit_table(
    head: Row,
    rows: list[Row],
    width: int,
    shrink: tuple[str, ...],
    *,
    least: Mapping[str, int] | None = None,
    optional: tuple[str, ...] = (),
) -> tuple[Row, list[Row]]:
    head, rows = _keep(head, rows, [i for i in range(len(head)) if any(r[i] for r in rows)])
    widths = _widths(head, rows)
    excess = sum(widths) + 2 * (len(widths) - 1) - width
    for name in optional:  # before any value is cut
        if excess > 0 and name in head:
            i = head.index(name)
            excess -= widths[i] + 2
            del widths[i]
            head, rows = _keep(head, rows, [j for j in range(len(head)) if j != i])
    for name in shrink:
        if excess <= 0 or name not in head:
            continue
        i = head.index(name)
        new = max(widths[i] - excess, len(name), (least or {}).get(name, LEAST_WIDTH))
        if new < widths[i]:
            excess -= widths[i] - new
            rows = [r[:i] + (r[i] if len(r[i]) <= new else r[i][: new - 1] + "…",) + r[i + 1 :] for r in rows]
            widths[i] = new
    return head, rows
