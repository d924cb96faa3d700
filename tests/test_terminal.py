"""What a person sees on a terminal: the rich reporter and the status/history tables, at 80
columns, with migration names far longer than the screen; prompts, errors, counts and times.
Mostly sqlite (output, not dialects); what a dialect writes or reads (history rows, durations,
`by`, checksums, `wait`) runs on every dialect it concerns."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

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


# -- issue 16, items 18-20: what a person reads in the terminal ---------------------------------
def _on_a_terminal(*args: str, cwd: Path, answer: str = "", columns: int = 80, **env: str) -> tuple[int, str]:
    """`migrator` with stdin, stdout and stderr on one pseudo-terminal COLUMNS wide, as a person
    runs it; `answer` is typed once something was written. Returns (status, the screen)."""
    import os
    import pty
    import select
    import subprocess
    import sys
    import time

    from tests.test_cli_conventions import _env

    master, slave = pty.openpty()
    full = _env({"TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": "40", **env})
    proc = subprocess.Popen(
        [sys.executable, "-m", "migrator", *args], cwd=cwd, env=full, stdin=slave, stdout=slave, stderr=slave
    )
    os.close(slave)
    screen, typed, deadline = b"", not answer, time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed its end
                    break
                if not data:
                    break
                screen += data
                if not typed and b"[y/N]" in screen:
                    os.write(master, answer.encode())
                    typed = True
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=10)
    finally:
        os.close(master)
    text = screen.decode(errors="replace").replace("\r\n", "\n")
    return code, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def _wrapped_between_words(lines: list[str], sentence: str, width: int) -> None:
    """The lines are `sentence` broken only at spaces, none wider than the screen."""
    assert all(len(x) <= width for x in lines), lines
    assert " ".join(x.strip() for x in lines) == sentence, lines


LONG_A = "0001_create_the_customer_accounts_table_with_billing_addresses"
LONG_B = "0002_add_the_orders_table_and_its_foreign_key_to_customer_accounts"


def _two_long_versions(sqldir: Path) -> None:
    write_migration(sqldir, LONG_A, "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    write_migration(sqldir, LONG_B, "CREATE TABLE b (id INT);\n", "DROP TABLE b;\n")


def test_history_fits_80_columns_on_a_terminal_and_piped(db: Any, sqldir: Path, cli: Any) -> None:
    """Item 18: every row of `history` fits 80 columns (mysql's `by` is `root@127.0.0.1`), on a
    terminal and piped (COLUMNS when set, else 80); a repair's reason is printed whole under
    its row, broken between words."""
    from tests.test_cli_conventions import run_on_terminal

    _two_long_versions(sqldir)
    assert cli("up", "--url", db.url).code == 0
    (sqldir / LONG_A / "down.sql").write_text("DROP TABLE a; -- edited\n")
    reason = "the down file names the table the way the new style guide asks, nothing else changed at all"
    assert cli("repair", "1", "--yes", "--reason", reason, "--url", db.url).code == 0
    for shown in (
        run_on_terminal("history", "--url", db.url, cwd=db.tmp, COLUMNS="80").out,
        cli("history", "--url", db.url).out,  # piped, no COLUMNS: 80
        cli("history", "--url", db.url, env={"COLUMNS": "80"}).out,
    ):
        lines = [re.sub(r"\x1b\[[0-9;]*m", "", x) for x in shown.splitlines()]
        assert all(len(x) <= 80 for x in lines), "\n".join(lines)
        assert sum(1 for x in lines if re.search(r"\b(up|repair)\b.*\bok\b", x)) == 3, lines
        start = next(i for i, x in enumerate(lines) if x.lstrip().startswith("reason:"))
        _wrapped_between_words(lines[start:], f"reason: {reason}", 80)
    wide = cli("history", "--url", db.url, env={"COLUMNS": "250"}).out
    assert LONG_B in wide  # the reader asked for the width: names whole


def test_status_piped_fits_80_columns_unless_columns_says_otherwise(sqldir: Path, cli: Any) -> None:
    """Item 18: `status | less` gets a table as wide as a terminal, not one as wide as a name."""
    _two_long_versions(sqldir)
    write_migration(sqldir, f"0003_{LONG}", "CREATE TABLE c (id INT);\n", "DROP TABLE c;\n")
    assert cli("up", "--to", "2").code == 0
    piped = cli("status").out.splitlines()
    assert all(len(x) <= 80 for x in piped), piped
    assert any(x.startswith("3        0003_add_customer_loyalty") and "…  pending" in x for x in piped), piped
    assert f"0003_{LONG}" in cli("status", env={"COLUMNS": "300"}).out


def _many_versions(sqldir: Path, count: int) -> None:
    for v in range(1, count + 1):
        write_migration(sqldir, f"{v:04d}_t{v}", f"CREATE TABLE t{v} (id INT);\n", f"DROP TABLE t{v};\n")


_DURATION = r"(<1 ms|\d+ ms|\d+\.\d s|\d+ min \d\d s)"


def test_a_long_run_leaves_the_slowest_table_and_one_total(tmp_path: Path) -> None:
    """Item 19: beyond 30 versions the live display leaves the summary the README promises (the
    10 slowest, slowest first) and no second total in another unit."""
    reporter, out = _reporter(80)
    sql = tmp_path / "sql"
    _many_versions(sql, 35)
    result = Migrator(f"sqlite:///{tmp_path / 'app.db'}", sql, reporter=reporter).up()
    reporter.close()
    assert len(result.versions) == 35
    lines = out.getvalue().splitlines()
    start = next(i for i, x in enumerate(lines) if "Summary" in x)
    assert lines[start].strip() == "Summary: the 10 slowest of 35 versions"
    assert lines[start + 1].split() == ["version", "name", "file", "statements", "time"]
    rows = lines[start + 3 :]
    assert len(rows) == 10 and all(
        re.fullmatch(rf"\s+\d+   \d{{4}}_t\d+\s+up\.sql\s+1\s+{_DURATION}", r) for r in rows
    )
    assert not any(" files in " in x for x in lines)


def test_a_long_run_piped_to_a_terminal_ends_with_one_total_in_one_unit(tmp_path: Path) -> None:
    """Item 19 as a person sees it: the summary table, then one total, written like every time."""
    from tests.test_cli_conventions import run_on_terminal

    _many_versions(tmp_path / "sql", 31)
    r = run_on_terminal("up", cwd=tmp_path, COLUMNS="80")
    assert r.code == 0, r.err
    lines = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", r.out).strip().splitlines()
    assert any(x.strip() == "Summary: the 10 slowest of 31 versions" for x in lines), lines
    totals = [x for x in lines if " in " in x and ("files" in x or "versions" in x)]
    assert len(totals) == 1 and re.fullmatch(
        rf"applied 31 versions in {_DURATION}; database is at version 31", totals[0]
    ), lines


@pytest.mark.parametrize(
    ("ms", "shown"),
    [
        (0.2, "<1 ms"),
        (0.6, "1 ms"),
        (85, "85 ms"),
        (999.4, "999 ms"),
        (999.6, "1.0 s"),
        (8699, "8.7 s"),
        (125_000, "2 min 05 s"),
        (3_720_000, "1 h 02 min"),
    ],
)
def test_one_unit_rule_for_every_duration(ms: float, shown: str) -> None:
    from migrator.report.units import duration

    assert duration(ms) == shown


def test_the_down_prompt_breaks_between_words_at_80_columns(tmp_path: Path) -> None:
    """Item 20: the question fits the screen without cutting a word; `n` changes nothing."""
    from tests.test_cli_conventions import run

    _two_long_versions(tmp_path / "sql")
    assert run("up", cwd=tmp_path).code == 0
    code, screen = _on_a_terminal("down", "--steps", "2", cwd=tmp_path, answer="n\n")
    assert code == 3, screen
    lines = screen.split("[y/N]")[0].rstrip().splitlines() + []
    question = f"Roll back 2 versions: {LONG_B}, {LONG_A}? This may lose data."
    _wrapped_between_words(lines, question, 80)
    assert "rollback cancelled; nothing was changed" in screen
    assert run("status", cwd=tmp_path).out.count("applied  ") == 2


def test_errors_on_a_terminal_break_between_words_at_80_columns(tmp_path: Path) -> None:
    """Item 20: stderr on a terminal is broken at spaces, the excerpt and its caret left whole."""
    from tests.test_cli_conventions import run

    sql = tmp_path / "sql"
    write_migration(
        sql,
        LONG_A,
        "CREATE TABLE a (id INT);\nCREATE TABLE a_twice_over_with_a_long_name (id INT, id INT);\n",
    )
    code, screen = _on_a_terminal("up", cwd=tmp_path)
    assert code == 1, screen
    lines = screen[screen.index("error:") :].rstrip().splitlines()
    assert all(len(x) <= 80 for x in lines), lines
    caret = next(i for i, x in enumerate(lines) if re.match(r"\s+\| +\^", x))
    assert re.match(r"\s+2 \| CREATE TABLE a_twice", lines[caret - 1]), lines
    words = " ".join(x.strip() for x in lines).split()
    plain = run("up", cwd=tmp_path).err.split()  # piped: one line each, the same words
    assert words == plain


def test_status_says_warning_once(tmp_path: Path) -> None:
    """Item 20: `warning: version 1 (...): warning: ...` said its prefix twice."""
    from tests.test_cli_conventions import run

    write_migration(tmp_path / "sql", "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    assert run("up", cwd=tmp_path).code == 0
    (tmp_path / "sql" / "0001_a" / "down.sql").write_text("DROP TABLE a; -- edited\n")
    out = run("status", cwd=tmp_path).out
    line = next(x for x in out.splitlines() if "down.sql changed" in x)
    assert (
        line.startswith("version 1 (0001_a): warning: 0001_a/down.sql changed") and line.count("warning") == 1
    )


def test_repair_of_a_changed_down_sql_shows_and_records_its_checksums(
    db: Any, sqldir: Path, cli: Any
) -> None:
    """Item 20: accepting an edited down.sql showed (and recorded) the up.sql's checksums."""
    from migrator.checksum import checksum_text

    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    assert cli("up", "--url", db.url).code == 0
    (sqldir / "0001_a" / "down.sql").write_text("DROP TABLE a; -- edited\n")
    old, new = checksum_text("DROP TABLE a;\n"), checksum_text("DROP TABLE a; -- edited\n")
    dry = cli("repair", "1", "--dry-run", "--url", db.url)
    assert dry.out.strip() == (
        "would accept version 1 (0001_a): accept the changed 0001_a/down.sql "
        f"(checksum {old[:12]} -> {new[:12]})"
    )
    assert cli("repair", "1", "--yes", "--url", db.url).code == 0
    assert db.query(
        "SELECT old_checksum, new_checksum FROM schema_version_history WHERE action = 'repair'"
    ) == [(old, new)]
    assert cli("validate", "--strict", "--url", db.url).code == 0


def test_up_says_when_it_applies_the_placeholder_init_wrote(tmp_path: Path) -> None:
    """Item 20: `init` then `up` recorded the comment-only file as applied without a word, so
    writing the real change into it afterwards was drift. `init` says what to do next; `up`
    applies it as every peer applies an empty migration (exit 0), and says what that means."""
    from tests.test_cli_conventions import run

    init = run("init", cwd=tmp_path)
    assert (
        init.code == 0
        and (
            "next: write the change in sql/0001_initial_schema/up.sql and its undo in down.sql, "
            "then run `migrator up`"
        )
        in init.out
    )
    up = run("up", cwd=tmp_path)
    warning = (
        "warning: 0001_initial_schema/up.sql is still the placeholder `migrator new` wrote: its "
        "version is recorded as applied with nothing done (write the change before `up`; once "
        "applied, put it in a new version)"
    )
    assert up.code == 0 and warning in " ".join(up.out.split() + up.err.split()), (up.out, up.err)
    assert "Traceback" not in up.err
    assert "0001_initial_schema  applied" in run("status", cwd=tmp_path).out
    # a file with a change in it says nothing of the kind
    (tmp_path / "sql" / "0002_real").mkdir()
    (tmp_path / "sql" / "0002_real" / "up.sql").write_text("CREATE TABLE a (id INT);\n")
    (tmp_path / "sql" / "0002_real" / "down.sql").write_text("DROP TABLE a;\n")
    second = run("up", cwd=tmp_path)
    assert second.code == 0 and "placeholder" not in second.out + second.err


def test_history_records_the_time_up_printed(db: Any, sqldir: Path, cli: Any) -> None:
    """Item 20: sqlite's history said `0 ms` where `up` printed a few; a batch file recorded
    only its closing write. The line a person reads and the history agree, on every dialect."""
    write_migration(sqldir, "0001_items", "CREATE TABLE items (id INT, done INT);\n", "DROP TABLE items;\n")
    write_migration(
        sqldir, "0002_fill", "INSERT INTO items VALUES (1, 0), (2, 0), (3, 0);\n", "DELETE FROM items;\n"
    )
    pick = "SELECT id FROM items WHERE done = 0 ORDER BY id LIMIT 1"
    if db.dialect == "mysql":
        pick = f"SELECT id FROM ({pick}) AS one"
    write_migration(
        sqldir, "0003_backfill", f"-- migrator: batch\nUPDATE items SET done = 1 WHERE id IN ({pick});\n"
    )
    r = cli("up", "--url", db.url, "--batch-pause", "0.2s")
    assert r.code == 0, r.err
    printed = dict(re.findall(r"applied (\d{4}_\w+) in (<1 ms|\d+ ms|[\d.]+ s)", r.out))
    history = cli("history", "--url", db.url, env={"COLUMNS": "200"}).out
    recorded = dict(re.findall(r"\b(\d{4}_\w+)\s+ok\s+\S+\s+(<1 ms|\d+ ms|[\d.]+ s)", history))
    assert set(printed) == set(recorded) == {"0001_items", "0002_fill", "0003_backfill"}, (r.out, history)
    (batch_ms,) = db.query("SELECT execution_ms FROM schema_version WHERE version = 3")[0]
    assert batch_ms >= 600, batch_ms  # three pauses between four batches: the whole file
    if db.dialect != "postgres":  # (postgres measures a one-round-trip file on the server)
        assert printed == recorded, (r.out, history)


@pytest.mark.parametrize("scheme", ["postgres", "mysql"])
def test_wait_waits_the_whole_timeout(tmp_path: Path, scheme: str) -> None:
    """Item 20: `wait --timeout 5` gave up after 4.66 s."""
    import time

    from migrator.errors import ConnectError
    from migrator.tools import wait_for
    from migrator.urls import parse_url
    from tests.test_cli_conventions import run

    url = f"{scheme}://u@127.0.0.1:1/x"  # nothing listens there: refused at once, every time
    started = time.monotonic()
    with pytest.raises(ConnectError, match="database not ready after 2s"):
        wait_for(parse_url(url), 2)
    waited = time.monotonic() - started
    assert 2.0 <= waited < 4, waited
    r = run("wait", "--timeout", "1", "--url", url, cwd=tmp_path)
    assert r.code == 4 and r.err.startswith("error: database not ready after 1s: cannot connect to ")


def test_counts_say_1_version_and_2_versions(tmp_path: Path) -> None:
    """Item 20: `1 rows`, `1 version(s)`: counts are written as a person says them."""
    from migrator.runner import BatchProgress
    from tests.test_cli_conventions import run

    _many_versions(tmp_path / "sql", 2)
    assert "applied 2 versions in " in run("up", cwd=tmp_path).out
    refused = run("down", cwd=tmp_path)
    assert refused.code == 2 and "down would roll back 1 version (0002_t2)" in refused.err
    assert "rolled back 1 version in " in run("down", "--yes", cwd=tmp_path).out
    assert BatchProgress(1, 1, 1.0).describe() == "1 batch, 1 row, 1 rows/s"
