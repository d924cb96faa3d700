"""What a person sees on a terminal: the rich reporter and the status/history tables, at 80
columns, with migration names far longer than the screen (sqlite only: output, not dialects)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from migrator import Migrator
from migrator.report.tables import fit_table
from migrator.report.terminal import TerminalReporter
from tests.conftest import write_migration

LONG = (
    "add_customer_loyalty_points_ledger_with_monthly_expiry_and_audit_trail_for_the_"
    "finance_team_reconciliation_reports_v2"
)


class _Screen(io.StringIO):
    """What stays on the screen: the live display's cursor movements taken out."""

    def getvalue(self) -> str:
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", super().getvalue())


def _reporter(width: int) -> tuple[TerminalReporter, io.StringIO]:
    out = _Screen()
    reporter = TerminalReporter()
    reporter.console = Console(file=out, width=width, force_terminal=True, color_system=None)
    return reporter, out


def _migrator(tmp_path: Path, reporter: TerminalReporter) -> Migrator:
    sql = tmp_path / "sql"
    write_migration(sql, "0001_initial_schema", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    write_migration(
        sql, f"0002_{LONG}", "CREATE TABLE b (id INT);\nCREATE INDEX ib ON b (id);\n", "DROP TABLE b;\n"
    )
    return Migrator(f"sqlite:///{tmp_path / 'app.db'}", sql, reporter=reporter)


def test_redo_on_a_terminal_rolls_back_and_applies_again(tmp_path: Path) -> None:
    # redo plans twice (down, then up); a second live display used to crash the up half
    reporter, out = _reporter(80)
    result = _migrator(tmp_path, reporter).up()
    reporter.close()
    reporter, out = _reporter(80)
    result = _migrator(tmp_path, reporter).redo()
    reporter.close()
    assert result.versions == [2] and result.after == 2
    text = out.getvalue()
    assert "↓ rolled back 0002_add_customer" in text and "✓ applied 0002_add_customer" in text


@pytest.mark.parametrize("width", [60, 80, 200])
def test_no_line_is_wider_than_the_terminal(tmp_path: Path, width: int) -> None:
    reporter, out = _reporter(width)
    _migrator(tmp_path, reporter).up()
    reporter.close()
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= width, "\n".join(lines)
    done = [line for line in lines if line.startswith("✓ applied")]
    assert len(done) == 2 and all(line.endswith(" ms") for line in done)  # the time stays
    assert "Summary" in out.getvalue()


def test_a_long_name_keeps_its_beginning_and_ends_in_an_ellipsis(tmp_path: Path) -> None:
    reporter, out = _reporter(80)
    _migrator(tmp_path, reporter).up()
    reporter.close()
    line = next(x for x in out.getvalue().splitlines() if "0002_" in x and "applied" in x)
    assert line.startswith("✓ applied 0002_add_customer_loyalty") and "…" in line


def test_verify_shows_no_summary_table_of_its_scratch_runs(tmp_path: Path) -> None:
    reporter, out = _reporter(80)
    checks = _migrator(tmp_path, reporter).verify()
    reporter.close()
    assert checks.ok
    assert "Summary" not in out.getvalue() and "✓" not in out.getvalue()


def test_table_fits_by_dropping_empty_columns_then_shortening_names() -> None:
    head = ("version", "name", "state", "reason")
    rows = [("1", "0001_" + LONG, "applied", ""), ("2", "0002_short", "pending", "")]
    fitted_head, fitted = fit_table(head, rows, 60, ("name",))
    assert fitted_head == ("version", "name", "state")  # reason: empty in every row
    width = sum(max(len(h), *(len(r[i]) for r in fitted)) for i, h in enumerate(fitted_head))
    assert width + 2 * (len(fitted_head) - 1) <= 60
    assert fitted[0][1].startswith("0001_add_customer") and fitted[0][1].endswith("…")
    assert fitted[1] == ("2", "0002_short", "pending")


def test_table_is_untouched_when_it_fits() -> None:
    head = ("version", "name", "state")
    rows = [("1", "0001_a", "applied")]
    assert fit_table(head, rows, 80, ("name",)) == (head, rows)


def test_validate_problems_wrap_between_words_on_a_narrow_terminal(tmp_path: Path) -> None:
    """At 60 columns a drift line wraps at a space with an indent; piped, it is one line."""
    from tests.test_cli_conventions import run, run_on_terminal

    write_migration(
        tmp_path / "sql",
        "0001_a_rather_long_migration_name_for_wrapping",
        "CREATE TABLE a (id INT);\n",
        "DROP TABLE a;\n",
    )
    assert run("up", cwd=tmp_path).code == 0
    (tmp_path / "sql" / "0001_a_rather_long_migration_name_for_wrapping" / "up.sql").write_text(
        "CREATE TABLE a (id INT, b INT);\n"
    )
    piped = run("validate", cwd=tmp_path)
    assert piped.code == 3
    long_line = next(x for x in piped.out.splitlines() if x.startswith("version 1 "))
    assert len(long_line) > 60
    shown = run_on_terminal("validate", cwd=tmp_path, COLUMNS="60")
    lines = [x for x in shown.out.splitlines() if x.strip()]
    start = next(i for i, x in enumerate(lines) if x.startswith("version 1 "))
    wrapped = [lines[start]]
    for x in lines[start + 1 :]:
        if not x.startswith("  ") or x.startswith("    "):  # the diff below is indented by 4
            break
        wrapped.append(x)
    assert len(wrapped) > 1 and all(len(x) <= 60 for x in wrapped), wrapped
    assert " ".join(x.strip() for x in wrapped) == long_line  # the same words, cut at spaces


def test_the_display_imports_rich_without_holding_up_the_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    """Going live imports rich (30+ ms) in the timer thread; the runner's next event waits on
    the reporter's lock, so the import must happen before that lock is taken."""
    import sys
    import threading

    from migrator.report.delayed import DelayedTerminalReporter

    reporter = DelayedTerminalReporter()
    held_during_import: list[bool] = []

    class Watch:
        def find_spec(self, name: str, path: object = None, target: object = None) -> None:
            if name == "migrator.report.terminal":
                held_during_import.append(reporter._lock._is_owned())  # type: ignore[attr-defined]
            return None  # the normal finders import it

    monkeypatch.delitem(sys.modules, "migrator.report.terminal")
    monkeypatch.setattr(sys, "meta_path", [Watch(), *sys.meta_path])
    timer = threading.Thread(target=reporter._go_live)
    timer.start()
    timer.join()
    reporter.close()
    assert held_during_import == [False]
