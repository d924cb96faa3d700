"""SPEC §10 many targets: --targets FILE and several --url, highest exit status wins."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from migrator import Migrator
from migrator.errors import StoppedError
from tests.conftest import Db, write_migration


def test_up_on_a_targets_file_with_comments_and_env_vars(
    db: Db, example_sql: Path, cli: Any, tmp_path: Path
) -> None:
    (tmp_path / "targets.txt").write_text(
        "# every tenant\n\nsqlite:///one.db\n${TENANT_URL}   # from the environment\nsqlite:///two.db\n"
    )
    result = cli("--targets", "targets.txt", "up", "--json", env={"TENANT_URL": db.url})
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert [t["exit_code"] for t in doc["targets"]] == [0, 0, 0]
    assert db.versions() == [(v, "applied") for v in (1, 2, 3, 4)]
    for name in ("one.db", "two.db"):
        assert (tmp_path / name).is_file()


def test_highest_exit_status_wins_and_failures_stop_new_targets(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n")
    urls = ["sqlite:///ok.db", "postgres://nobody:pw-x@127.0.0.1:1/none", "sqlite:///after.db"]
    result = cli("up", "--parallel", "1", *[x for u in urls for x in ("--url", u)])
    assert result.code == 4
    assert "pw-x" not in result.out + result.err
    assert "not started: an earlier target failed" in result.out
    assert not (sqldir.parent / "after.db").exists()
    again = cli("up", "--parallel", "1", "--continue-on-error", *[x for u in urls for x in ("--url", u)])
    assert again.code == 4
    assert (sqldir.parent / "after.db").exists()


def test_a_url_before_the_command_and_one_after_it_are_two_targets(
    db: Db, sqldir: Path, cli: Any, tmp_path: Path
) -> None:
    """SPEC §6/§10: global options may come after the command, and several --url are several
    targets; one before and one after the command must not drop the first without a word."""
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    result = cli("--url", db.url, "up", "--json", "--url", "sqlite:///second.db")
    assert result.code == 0, result.err
    targets = [t["target"] for t in json.loads(result.out)["targets"]]
    assert sorted(targets) == sorted([db.parsed.masked, "sqlite:///second.db"])
    assert db.versions() == [(1, "applied")]
    assert (tmp_path / "second.db").is_file()
    one_only = cli("--url", db.url, "history", "--url", "sqlite:///second.db")
    assert one_only.code == 2
    assert one_only.err.startswith("error: `history` runs on one database")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("oracle://scott:tiger-pw@db/orcl", "unsupported database URL"),
        ("postgres://app:tiger-pw@db/", "names no database"),
        ("mysql://root:tiger-pw@127.0.0.1:3306/app schema=tenant", "a schema per target is for postgres"),
    ],
)
def test_a_bad_target_is_a_config_error_before_any_target_runs(
    db: Db, sqldir: Path, cli: Any, tmp_path: Path, bad: str, message: str
) -> None:
    """Exit 2 is a usage or config error, found before anything is touched: a targets file
    whose third line is no valid target must not migrate the first two and then stop."""
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    (tmp_path / "targets.txt").write_text(f"{db.url}\nsqlite:///first.db\n{bad}\n")
    result = cli("up", "--targets", "targets.txt", "--parallel", "1", "--json")
    assert result.code == 2
    error = json.loads(result.out)["error"]
    assert error["kind"] == "config" and message in error["message"]
    assert "tiger-pw" not in result.out + result.err
    assert db.versions() == []
    assert not (tmp_path / "first.db").exists()


def test_quiet_on_several_targets_names_the_ones_that_failed_on_stderr(
    db: Db, sqldir: Path, cli: Any
) -> None:
    """-q is errors only: a target that failed is named on stderr; those that went well are not."""
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    down = "postgres://app:pw-hidden@127.0.0.1:1/none"
    result = cli("up", "-q", "--continue-on-error", "--url", db.url, "--url", down)
    assert (result.code, result.out) == (4, "")
    assert result.err.startswith("postgres://app:***@127.0.0.1:1/none: exit 4: cannot connect")
    assert db.parsed.masked not in result.err and "pw-hidden" not in result.err
    assert db.versions() == [(1, "applied")]
    quiet = cli("status", "-q", "--url", db.url, "--url", "sqlite:///other.db", "--exit-code")
    assert (quiet.code, quiet.out, quiet.err) == (5, "", "")  # pending is a report, not an error


def test_status_exit_code_on_several_targets_exits_3_on_drift_as_on_one(
    db: Db, sqldir: Path, cli: Any
) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    urls = ("--url", db.url, "--url", "sqlite:///second.db")
    assert cli("up", *urls).code == 0
    (sqldir / "0001_a" / "up.sql").write_text("CREATE TABLE a (id BIGINT);\n")
    assert cli("status", "--exit-code", "--url", db.url).code == 3
    drifted = cli("status", "--exit-code", "--json", *urls)
    assert drifted.code == 3, drifted.out + drifted.err
    assert [t["exit_code"] for t in json.loads(drifted.out)["targets"]] == [3, 3]
    assert cli("status", *urls).code == 0  # without --exit-code, status is a report


def test_validate_offline_and_schema_file_mean_the_same_on_several_targets(
    db: Db, sqldir: Path, cli: Any
) -> None:
    """--offline checks migrator.sum and needs no database (an unreachable target is no
    matter); --schema-file checks sql/schema.<dialect>.txt on each target, as on one."""
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    assert cli("hash").code == 0
    (sqldir / "0001_a" / "down.sql").write_text("DROP TABLE a; -- edited\n")
    urls = ("--url", db.url, "--url", "postgres://app:pw@127.0.0.1:1/none")
    offline = cli("validate", "--offline", "--json", *urls)
    assert offline.code == 3, offline.out + offline.err
    assert [p["file"] for p in json.loads(offline.out)["problems"]] == ["0001_a/down.sql"]
    assert "cannot connect" not in offline.out + offline.err

    assert cli("up", "--url", db.url).code == 0
    two = ("--url", db.url, "--url", "sqlite:///second.db")
    assert cli("up", *two).code == 0
    no_file = cli("validate", "--schema-file", "--json", *two)
    assert no_file.code == 3, no_file.out + no_file.err
    assert [t["exit_code"] for t in json.loads(no_file.out)["targets"]] == [3, 3]
    assert cli("schema", "--write", "--url", db.url).code == 0
    assert cli("schema", "--write", "--url", "sqlite:///second.db").code == 0
    assert cli("validate", "--schema-file", *two).code == 0


def test_one_scratch_url_serves_several_targets_in_turn(
    db: Db, sqldir: Path, cli: Any, tmp_path: Path
) -> None:
    """SPEC §6.1: --scratch-url names one empty database, emptied after each use. Targets run
    at once would build their schemas into it together; they take turns instead."""
    from contextlib import contextmanager

    from tests.conftest import _create_scratch

    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    write_migration(sqldir, "0002_b", "CREATE TABLE b (id INT);\n", "DROP TABLE b;\n")
    given = contextmanager(_create_scratch)
    for folder in ("second", "scratch"):  # where the sqlite files go
        (tmp_path / folder).mkdir()
    with given(db.dialect, tmp_path / "second") as second, given(db.dialect, tmp_path / "scratch") as scratch:
        urls = ("--url", db.url, "--url", second.url)
        assert cli("up", *urls).code == 0
        for command in ("verify", "drift"):
            result = cli(command, "--parallel", "4", "--scratch-url", scratch.url, "--json", *urls)
            assert result.code == 0, (command, result.out, result.err)
            assert [t["exit_code"] for t in json.loads(result.out)["targets"]] == [0, 0]
        assert scratch.tables() == set()  # emptied again, after each


def test_postgres_schema_per_tenant(db: Db, sqldir: Path, cli: Any, tmp_path: Path) -> None:
    if db.dialect != "postgres":
        result = cli("--targets", "t.txt", "status", cwd=_write(tmp_path, f"{db.url} schema=tenant_a\n"))
        assert result.code == 2 and "schema" in result.out + result.err
        return
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    _write(tmp_path, f"{db.url} schema=tenant_a\n{db.url} schema=tenant_b\n")
    result = cli("--targets", "t.txt", "up")
    assert result.code == 0, result.err
    rows = db.query(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema LIKE 'tenant_%' ORDER BY 1, 2"
    )
    assert rows == [
        (s, t) for s in ("tenant_a", "tenant_b") for t in ("a", "schema_version", "schema_version_history")
    ]
    assert "a" not in db.tables()  # nothing in public
    # drift compares each tenant's own schema: the other tenant is no drift of it
    clean = cli("--targets", "t.txt", "drift", "--json")
    assert clean.code == 0, clean.out + clean.err
    db.execute("CREATE TABLE tenant_a.hotfix (id INT)")
    drifted = cli("--targets", "t.txt", "drift", "--json")
    assert drifted.code == 3, drifted.err
    found = {
        t["target"].rpartition("=")[2]: t["result"]["differences"] for t in json.loads(drifted.out)["targets"]
    }
    assert found == {
        "tenant_a": [
            "table hotfix: in the database, not in the migrations",
            "column hotfix.id: in the database, not in the migrations",
        ],
        "tenant_b": [],
    }


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "t.txt").write_text(text)
    return tmp_path


def test_undefined_variable_in_targets_file_is_a_config_error(sqldir: Path, cli: Any, tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("${NOT_SET_ANYWHERE}\n")
    result = cli("--targets", "t.txt", "status")
    assert result.code == 2
    assert "NOT_SET_ANYWHERE" in result.err


# -- stop request: after a failure the running targets stop after their current file ----------
_SLOW = {
    "postgres": "SELECT pg_sleep({s});\n",
    "mysql": "DO SLEEP({s});\n",
    # no sleep in sqlite: count through a recursive CTE (about 0.14 s per million here)
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
    "WHERE x < {n}) SELECT count(*) FROM c;\n",
}


def _slow_files(sqldir: Path, dialect: str, count: int, seconds: float = 0.3) -> None:
    for v in range(1, count + 1):
        write_migration(
            sqldir,
            f"{v:04d}_slow_{v}",
            f"CREATE TABLE t{v} (id INT);\n" + _SLOW[dialect].format(s=seconds, n=int(seconds * 7_000_000)),
            f"DROP TABLE t{v};\n",
        )


def _history(db: Db) -> list[tuple[int, str, str]]:
    rows = db.query("SELECT version, action, outcome FROM schema_version_history ORDER BY id")
    return [(int(v), a, o) for v, a, o in rows]


def _true_from_call(n: int) -> Callable[[], bool]:
    calls: list[None] = []

    def should_stop() -> bool:
        calls.append(None)
        return len(calls) >= n

    return should_stop


def test_runner_stops_between_files_when_asked(db: Db, sqldir: Path) -> None:
    for v in (1, 2, 3, 4):
        write_migration(
            sqldir,
            f"{v:04d}_t{v}",
            f"CREATE TABLE t{v} (id INT);\nINSERT INTO t{v} VALUES ({v});\n",
            f"DROP TABLE t{v};\n",
        )
    m = Migrator(db.url, directory=sqldir)
    with pytest.raises(StoppedError) as stopped:
        m.up(should_stop=_true_from_call(3))  # asked before each file: stops before the third
    assert stopped.value.exit_code == 1
    assert stopped.value.where == "after 0002_t2"
    assert stopped.value.to_dict()["completed"] == [1, 2]
    assert stopped.value.to_dict()["not_run"] == [3, 4]
    # both files complete with their version rows, nothing of the third one, no `running` row
    assert db.versions() == [(1, "applied"), (2, "applied")]
    assert {"t1", "t2"} <= db.tables() and not {"t3", "t4"} & db.tables()
    assert _history(db) == [(1, "up", "ok"), (2, "up", "ok")]
    # nothing blocks the next run, which applies the rest
    assert m.up().versions == [3, 4]
    # down honours it the same way
    with pytest.raises(StoppedError) as stopped:
        m.down(0, should_stop=_true_from_call(3))
    assert stopped.value.to_dict()["completed"] == [4, 3]
    assert str(stopped.value).startswith(
        "stopped after 0003_t3 on request: 2 versions rolled back, 2 not run (2, 1)"
    )
    assert db.versions() == [(1, "applied"), (2, "applied")]


def test_a_failed_target_stops_the_running_ones_after_their_current_file(
    db: Db, sqldir: Path, cli: Any
) -> None:
    # Two targets on one database, so one fails while the other is mid-run, without any race:
    # the second waits for the lock the first holds and times out (exit 4) after 1 s, while the
    # first is in its third or fourth slow file of eight.
    _slow_files(sqldir, db.dialect, 8)
    result = cli("up", "--url", db.url, "--url", db.url, "--parallel", "2", "--lock-timeout", "1", "--json")
    assert result.code == 4, result.out + result.err  # the highest: the lock timeout
    doc = json.loads(result.out)
    assert doc["exit_code"] == 4
    timed_out, stopped = sorted(doc["targets"], key=lambda t: -t["exit_code"])
    assert timed_out["exit_code"] == 4 and timed_out["result"]["error"]["kind"] == "lock-timeout"
    assert stopped["exit_code"] == 1 and stopped["result"]["error"]["kind"] == "stopped"
    done = stopped["result"]["error"]["completed"]
    assert 1 <= len(done) < 8, "the run stopped neither too early nor never"
    assert re.fullmatch(
        rf"stopped after {len(done):04d}_slow_{len(done)}: another target failed "
        rf"\({len(done)} done, {8 - len(done)} not run\)",
        stopped["summary"],
    )
    # consistent: every file that ran is complete and applied, nothing after it
    assert db.versions() == [(v, "applied") for v in done]
    assert _history(db) == [(v, "up", "ok") for v in done]
    tables = {t for t in db.tables() if re.fullmatch(r"t\d+", t)}
    assert tables == {f"t{v}" for v in done}


def test_continue_on_error_stops_nothing(db: Db, sqldir: Path, cli: Any) -> None:
    _slow_files(sqldir, db.dialect, 6, seconds=0.25)
    result = cli(
        "up",
        "--url",
        db.url,
        "--url",
        db.url,
        "--parallel",
        "2",
        "--lock-timeout",
        "1",
        "--continue-on-error",
    )
    assert result.code == 4, result.out + result.err
    assert "stopped" not in result.out
    assert db.versions() == [(v, "applied") for v in range(1, 7)]


# -- output: plain lines off a terminal, a live table on one ----------------------------------
def _three_sqlite_targets(sqldir: Path, tmp_path: Path) -> list[str]:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    write_migration(sqldir, "0002_b", "CREATE TABLE b (id INT);\n", "DROP TABLE b;\n")
    import sqlite3

    clash = sqlite3.connect(tmp_path / "clash.db")  # 0002_b fails here: b already exists
    clash.execute("CREATE TABLE b (id INT)")
    clash.close()
    return [
        "--url",
        "sqlite:///one.db",
        "--url",
        "sqlite:///clash.db",
        "--url",
        "sqlite:///two.db",
        "--continue-on-error",
        "up",
    ]


def test_plain_lines_off_a_terminal(sqldir: Path, cli: Any, tmp_path: Path) -> None:
    result = cli(*_three_sqlite_targets(sqldir, tmp_path), "--parallel", "1")
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0] == "sqlite:///one.db: ok: none (empty) -> 2 (2 applied)"
    assert lines[1].startswith("sqlite:///clash.db: exit 1: version 2 (0002_b) failed in ")
    assert lines[2] == "sqlite:///two.db: ok: none (empty) -> 2 (2 applied)"
    assert lines[3:] == ["3 targets, 1 not ok; exit 1"]
    assert "\x1b[" not in result.out


def _on_a_terminal(args: list[str], cwd: Path, timeout: float = 60) -> tuple[int, str]:
    """Run the CLI with stdout and stderr on a pseudo-terminal (100x40); its whole output."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MIGRATOR_URL", "DATABASE_URL", "NO_COLOR", "COLUMNS", "LINES")
    }
    env["TERM"] = "xterm-256color"
    proc = subprocess.Popen(
        [sys.executable, "-m", "migrator", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    out = bytearray()
    try:
        while select.select([master], [], [], timeout)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        code = proc.wait(timeout)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return code, out.decode("utf-8", "replace")


def test_live_table_on_a_terminal(sqldir: Path, tmp_path: Path) -> None:
    code, raw = _on_a_terminal(_three_sqlite_targets(sqldir, tmp_path), tmp_path)
    assert code == 1
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw).replace("\r", "")
    # the table left on the screen at the end: one row per target with its outcome
    final = screen[screen.rindex("from → to") :]
    rows = {m.group(1): m.group(2) for m in re.finditer(r"(sqlite:///\w+\.db)\s*│([^\n]*)", final)}
    assert set(rows) == {"sqlite:///one.db", "sqlite:///clash.db", "sqlite:///two.db"}
    for ok in ("sqlite:///one.db", "sqlite:///two.db"):
        assert re.search(r"none → 2\s*│.*│\s*[\d.]+s\s*│\s*ok\b", rows[ok]), rows[ok]
    assert re.search(r"│\s*failed \(exit 1\)", rows["sqlite:///clash.db"])
    # the failure's message under the table, the summary line last
    assert "sqlite:///clash.db: version 2 (0002_b) failed" in final
    assert final.rstrip().endswith("3 targets, 1 not ok; exit 1")
    assert "\x1b[32m" in raw and "\x1b[31m" in raw  # green ok, red failed


@pytest.mark.dialect_only("sqlite")
def test_sigint_stops_every_target_and_says_where_each_is(sqldir: Path, tmp_path: Path) -> None:
    import signal
    import time

    _slow_files(sqldir, "sqlite", 6)
    urls = ["sqlite:///a.db", "sqlite:///b.db", "sqlite:///c.db"]
    env = {k: v for k, v in os.environ.items() if k not in ("MIGRATOR_URL", "DATABASE_URL")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "migrator", "--parallel", "2", "up", *[x for u in urls for x in ("--url", u)]],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not (tmp_path / "a.db").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # a and b are inside a file now; c waits for a free slot
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    lines = out.splitlines()
    assert lines[-1] == "3 targets, 3 not ok; exit 130"
    assert "sqlite:///c.db: exit 1: not started: interrupted" in lines
    for name in ("a", "b"):  # sqlite checks for the signal: the running file is rolled back,
        line = next(x for x in lines if x.startswith(f"sqlite:///{name}.db: "))
        # ...or, when the signal came between two of its files, it stopped there
        assert re.search(
            r": exit 130: interrupted: during version \d \(000\d_slow_\d\); .*; version \d was rolled "
            r"back: nothing of it was committed, it is pending again",
            line,
        ) or re.search(r": exit 1: stopped after 000\d_slow_\d: interrupted", line), line
        done = Db("sqlite", f"sqlite:///{tmp_path / f'{name}.db'}", tmp_path).versions()
        assert all(status == "applied" for _, status in done) and len(done) < 6
    assert not (tmp_path / "c.db").exists()


def test_a_database_error_outside_any_file_is_that_targets_result(
    sqldir: Path, cli: Any, tmp_path: Path
) -> None:
    import sqlite3

    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n")
    odd = sqlite3.connect(tmp_path / "odd.db")  # a table of that name, not migrator's
    odd.execute("CREATE TABLE schema_version (x INT)")
    odd.close()
    result = cli(
        "up", "--parallel", "1", "--json", "--url", "sqlite:///odd.db", "--url", "sqlite:///after.db"
    )
    assert result.code == 1, result.out + result.err
    doc = json.loads(result.out)
    odd_result, after = doc["targets"]
    assert odd_result["exit_code"] == 1
    assert odd_result["summary"].startswith("database error while reading or writing the version table: ")
    assert (after["exit_code"], after["summary"]) == (1, "not started: an earlier target failed")


def test_the_live_table_shows_from_and_to_while_a_target_runs() -> None:
    """Pure: what a running target's row says before its result is known."""
    from types import SimpleNamespace

    from migrator.report.targets import LiveBoard, _plan
    from migrator.targets import Target

    board = LiveBoard([Target("sqlite:///a.db"), Target("sqlite:///b.db")])
    try:
        files = [SimpleNamespace(version=v) for v in (3, 4)]
        board.reporter(0).plan_ready("up", files, 2)
        board.reporter(1).plan_ready("down", files, 4)
        assert [_plan(r) for r in board.rows] == ["2 → 4", "4 ↓ 2 versions"]
    finally:
        board.close()


def test_sigint_cancels_the_running_statement_on_every_server_target(
    server_db: Db, sqldir: Path, tmp_path: Path
) -> None:
    """SPEC §6: exit 130 after rolling back the running file, also when the file runs in a
    worker thread (several targets), which the signal itself never reaches."""
    import signal
    import time

    from tests.conftest import _create_scratch

    db = server_db
    (tmp_path / "second").mkdir()
    scratch = _create_scratch(db.dialect, tmp_path / "second")
    other = next(scratch)
    try:
        write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
        sleep = {"postgres": "SELECT pg_sleep(30);\n", "mysql": "DO SLEEP(30);\n"}[db.dialect]
        write_migration(sqldir, "0002_slow", "CREATE TABLE b (id INT);\n" + sleep, "DROP TABLE b;\n")
        env = {k: v for k, v in os.environ.items() if k not in ("MIGRATOR_URL", "DATABASE_URL")}
        proc = subprocess.Popen(
            [sys.executable, "-m", "migrator", "--parallel", "2", "up", "--url", db.url, "--url", other.url],
            cwd=sqldir.parent,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        running = (
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' "
            "AND pid <> pg_backend_pid()"
            if db.dialect == "postgres"
            else "SELECT count(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'DO SLEEP(30)%'"
        )
        deadline = time.monotonic() + 30
        while db.query(running)[0][0] < 2:
            assert time.monotonic() < deadline and proc.poll() is None, "the sleeps never started"
            time.sleep(0.1)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, out + err
        assert time.monotonic() - started < 15  # the sleeps were cancelled, not waited for
        assert out.splitlines()[-1] == "2 targets, 2 not ok; exit 130", out
        for target in (db, other):
            if db.dialect == "postgres":  # the file rolled back whole
                assert target.versions() == [(1, "applied")]
                assert "b" not in target.tables()
            else:  # mysql cannot roll back: the row is failed, and says why
                assert target.versions() == [(1, "applied"), (2, "failed")]
                ((error,),) = target.query("SELECT error FROM schema_version WHERE version = 2")
                assert "interrupted by a signal" in error
    finally:
        next(scratch, None)


def test_sigint_also_stops_targets_waiting_for_the_lock(db: Db, sqldir: Path, tmp_path: Path) -> None:
    """Another run holds the database's lock; two targets of this run wait for it (60 s
    allowed). Ctrl-C ends this run at once; the other run is not disturbed."""
    import signal
    import time

    long = {
        "postgres": "SELECT pg_sleep(30);\n",
        "mysql": "DO SLEEP(30);\n",
        "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
        "WHERE x < 300000000) SELECT count(*) FROM c;\n",
    }[db.dialect]
    write_migration(sqldir, "0001_long", "CREATE TABLE a (id INT);\n" + long, "DROP TABLE a;\n")
    env = {k: v for k, v in os.environ.items() if k not in ("MIGRATOR_URL", "DATABASE_URL")}

    def start(*args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "migrator", *args],
            cwd=sqldir.parent,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    holder = start("up", "--url", db.url)
    try:
        time.sleep(2)  # the holder is inside the long statement, with the lock
        waiting = start("--parallel", "2", "--lock-timeout", "60", "up", "--url", db.url, "--url", db.url)
        time.sleep(2)  # both of its targets poll for the lock
        assert waiting.poll() is None and holder.poll() is None
        started = time.monotonic()
        waiting.send_signal(signal.SIGINT)
        out, err = waiting.communicate(timeout=90)
        assert waiting.returncode == 130, out + err
        assert time.monotonic() - started < 10, out  # it did not wait out the lock timeout
        assert holder.poll() is None  # the other run goes on
    finally:
        holder.kill()
        holder.wait()
