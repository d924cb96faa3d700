"""The text tables of `status` and `history`: columns two spaces apart.

On a terminal a table fits its width (columns empty in every row go, then the `shrink`
columns give way with an ellipsis) and states are coloured; piped or redirected, the text is
complete (coloured only with FORCE_COLOR).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from migrator.report import colour_wanted

Row = tuple[str, ...]

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


def table_lines(
    head: Sequence[str], rows: Sequence[Sequence[str]], *, shrink: tuple[str, ...] = ("name",)
) -> list[str]:
    """The table's lines for standard output as it is now (a terminal or not); none without rows."""
    if not rows:
        return []
    head, fitted = tuple(head), [tuple(r) for r in rows]
    tty = sys.stdout.isatty()
    if tty:
        import shutil

        head, fitted = fit_table(head, fitted, shutil.get_terminal_size().columns, shrink)
    return _draw(head, fitted, colour_wanted(tty))


def _draw(head: Row, rows: list[Row], colour: bool) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
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


def fit_table(head: Row, rows: list[Row], width: int, shrink: tuple[str, ...]) -> tuple[Row, list[Row]]:
    keep = [i for i in range(len(head)) if any(r[i] for r in rows)]
    head = tuple(head[i] for i in keep)
    rows = [tuple(r[i] for i in keep) for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    excess = sum(widths) + 2 * (len(widths) - 1) - width
    for name in shrink:
        if excess <= 0 or name not in head:
            continue
        i = head.index(name)
        new = max(widths[i] - excess, len(name), 12)
        if new < widths[i]:
            excess -= widths[i] - new
            rows = [r[:i] + (r[i] if len(r[i]) <= new else r[i][: new - 1] + "…",) + r[i + 1 :] for r in rows]
            widths[i] = new
    return head, rows
