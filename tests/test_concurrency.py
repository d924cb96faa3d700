"""SPEC §4 and §3: two runs at once, a lock held too long, a process killed mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Db, write_migration

SLEEP = {
    "postgres": "SELECT pg_sleep(30);\n",
    "mysql": "SELECT SLEEP(30);\n",
    # a heavy recursive CTE keeps sqlite busy without a sleep function
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
    "WHERE i < 300000000) SELECT count(*) FROM n;\n",
}


def _spawn(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MIGRATOR_URL", "DATABASE_URL")}
    return subprocess.Popen(
        [sys.executable, "-m", "migrator", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _many(sqldir: Path, count: int) -> None:
    for v in range(1, count + 1):
        write_migration(
            sqldir,
            f"{v:04d}_t{v}",
            f"CREATE TABLE t{v} (id INT);\nINSERT INTO t{v} (id) VALUES ({v});\n",
            f"DROP TABLE t{v};\n",
        )


def test_concurrent_ups_apply_each_version_exactly_once(db: Db, example_sql: Path) -> None:
    for v in range(5, 25):  # the example's four versions plus twenty more
        write_migration(
            example_sql,
            f"{v:04d}_t{v}",
            f"CREATE TABLE t{v} (id INT);\nINSERT INTO t{v} (id) VALUES ({v});\n",
            f"DROP TABLE t{v};\n",
        )
    procs = [_spawn(["up", "--url", db.url], example_sql.parent) for _ in range(8)]
    results = [(p.wait(timeout=180), p.stderr.read() if p.stderr else "") for p in procs]
    assert [code for code, _ in results] == [0] * 8, results
    assert db.versions() == [(v, "applied") for v in range(1, 25)]
    ups = db.query(
        "SELECT version, count(*) FROM schema_version_history "
        "WHERE action = 'up' GROUP BY version ORDER BY version"
    )
    assert [(int(v), int(n)) for v, n in ups] == [(v, 1) for v in range(1, 25)]


def _wait_for_running(db: Db, proc: subprocess.Popen[str], seconds: float = 20) -> None:
    """Until the slow statement runs (the lock is held and the version is in progress)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        if _busy(db):
            return
        time.sleep(0.1)
    raise AssertionError("the slow migration never started")


def _busy(db: Db) -> bool:
    if db.dialect == "postgres":
        return bool(
            db.query(
                "SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' "
                "AND pid <> pg_backend_pid() AND datname = current_database()"
            )
        )
    if db.dialect == "mysql":
        return bool(
            db.query(
                "SELECT 1 FROM information_schema.PROCESSLIST "
                "WHERE INFO LIKE 'SELECT SLEEP(30)%' AND DB = DATABASE()"
            )
        )
    lock = Path(db.parsed.database + ".migrator-lock")
    return lock.exists() and "pid" in lock.read_text() and time.sleep(0.5) is None


def test_second_run_times_out_on_the_lock_and_names_the_holder(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_slow", SLEEP[db.dialect])
    first = _spawn(["up", "--url", db.url], sqldir.parent)
    try:
        _wait_for_running(db, first)
        started = time.monotonic()
        second = cli("up", "--lock-timeout", "2", "--url", db.url)
        assert second.code == 4
        assert time.monotonic() - started < 6.5  # the lock timeout, not a hidden wait before it
        assert "held by" in second.err
        holder = {
            "postgres": "application_name 'migrator'",
            "mysql": "connection id",
            "sqlite": f"pid {first.pid}",
        }[db.dialect]
        assert holder in second.err
    finally:
        first.kill()
        first.wait()


def test_kill_9_mid_file_leaves_a_clean_boundary_or_a_record(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    write_migration(sqldir, "0002_slow", "CREATE TABLE b (id INT);\n" + SLEEP[db.dialect], "DROP TABLE b;\n")
    proc = _spawn(["up", "--url", db.url], sqldir.parent)
    _wait_for_running(db, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if db.dialect == "mysql":
        _wait_until_gone(db)
        assert db.versions() == [(1, "applied"), (2, "running")]
        blocked = cli("up", "--url", db.url)
        assert blocked.code == 3
        assert "interrupted" in blocked.err and "statement 1 of 2 committed" in blocked.err
    else:
        assert db.versions() == [(1, "applied")]
        assert "b" not in db.tables()
        # the lock died with the process: the next run completes the job
        fast = {"0002_slow": "CREATE TABLE b (id INT);\n"}
        (sqldir / "0002_slow" / "up.sql").write_text(fast["0002_slow"])
        again = cli("up", "--lock-timeout", "10", "--url", db.url)
        assert again.code == 0, again.err
        assert db.versions() == [(1, "applied"), (2, "applied")]


def _wait_until_gone(db: Db) -> None:
    # the server notices the dead client when its sleep ends or is killed; end it now
    for (pid,) in db.query(
        "SELECT ID FROM information_schema.PROCESSLIST "
        "WHERE INFO LIKE 'SELECT SLEEP(30)%' AND DB = DATABASE()"
    ):
        db.execute(f"KILL {int(pid)}")


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_rolls_back_the_running_file_and_exits_143_or_130(
    db: Db, sqldir: Path, sig: int, code: int
) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    write_migration(sqldir, "0002_slow", "CREATE TABLE b (id INT);\n" + SLEEP[db.dialect], "DROP TABLE b;\n")
    proc = _spawn(["up", "--url", db.url], sqldir.parent)
    _wait_for_running(db, proc)
    proc.send_signal(sig)
    assert proc.wait(timeout=30) == code, proc.stderr.read() if proc.stderr else ""
    assert "applied before it: 1" in (proc.stderr.read() if proc.stderr else "")
    if db.dialect == "mysql":
        assert db.versions() == [(1, "applied"), (2, "failed")]
    else:
        assert db.versions() == [(1, "applied")]
        assert "b" not in db.tables()


def test_status_during_a_run_says_in_progress_not_killed(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_slow", "-- migrator: no-transaction\n" + SLEEP[db.dialect])
    proc = _spawn(["up", "--url", db.url], sqldir.parent)
    try:
        _wait_for_running(db, proc)
        result = cli("validate", "--url", db.url)
        assert result.code == 0, result.out
        assert "in-progress" in result.out or "another run is applying it now" in result.out
    finally:
        proc.kill()
        proc.wait()


SHORT_SLEEP = {
    "postgres": "SELECT pg_sleep(0.3);\n",
    "mysql": "SELECT SLEEP(0.3);\n",
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
    "WHERE i < 2000000) SELECT count(*) FROM n;\n",
}


def test_kill_9_at_many_points_always_leaves_a_clean_boundary(db: Db, sqldir: Path, cli: Any) -> None:
    count = 8
    for v in range(1, count + 1):
        write_migration(
            sqldir,
            f"{v:04d}_k{v}",
            f"CREATE TABLE k{v} (id INT);\n{SHORT_SLEEP[db.dialect]}",
            f"DROP TABLE k{v};\n",
        )
    for delay in (0.4, 0.9, 1.5, 2.2, 3.0):
        proc = _spawn(["up", "--url", db.url], sqldir.parent)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if db.dialect == "mysql":
            _wait_until_short_sleeps_end(db)
        if db.dialect == "postgres":
            # the killed client's backend may still finish (and commit) the file it was sent
            _wait_until_alone(db)
        rows = dict(db.versions())
        tables = {t for t in db.tables() if t.startswith("k")}
        applied = {f"k{v}" for v, s in rows.items() if s == "applied"}
        if db.dialect == "mysql":
            # DDL committed at once: a killed file leaves its `running` row and its table
            unfinished = [v for v, s in rows.items() if s != "applied"]
            assert len(unfinished) <= 1 and all(rows[v] == "running" for v in unfinished)
            assert tables == applied | {f"k{v}" for v in unfinished}
            if unfinished:
                blocked = cli("up", "--url", db.url)
                assert blocked.code == 3 and "interrupted" in blocked.err
                assert cli("repair", "--mark-applied", str(unfinished[0]), "--yes", "--url", db.url).code == 0
        else:
            assert tables == applied  # exactly the versions recorded, nothing half-done
            assert set(rows.values()) <= {"applied"}
    final = cli("up", "--lock-timeout", "10", "--url", db.url)
    assert final.code == 0, final.err
    assert db.versions() == [(v, "applied") for v in range(1, count + 1)]


def _wait_while(db: Db, sql: str, seconds: float) -> None:
    """Poll until `sql` finds no row (or `seconds` passed)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and db.query(sql):
        time.sleep(0.1)


def _wait_until_alone(db: Db) -> None:
    _wait_while(
        db,
        "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
        10,
    )


def _wait_until_short_sleeps_end(db: Db) -> None:
    _wait_while(
        db,
        "SELECT 1 FROM information_schema.PROCESSLIST WHERE INFO LIKE "
        "'SELECT SLEEP(0.3)%' AND DB = DATABASE()",
        5,
    )


def test_sqlite_lock_timeout_is_not_preceded_by_a_hidden_busy_wait(tmp_path: Path, cli: Any) -> None:
    """sqlite only (its file lock): another run that holds migrator's lock while writing (an
    EXCLUSIVE sqlite lock) made the open wait sqlite3's own 5 s before --lock-timeout began."""
    import fcntl
    import sqlite3

    write_migration(tmp_path / "sql", "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    url = f"sqlite:///{tmp_path / 'app.db'}"
    assert cli("up", "--url", url).code == 0
    writer = sqlite3.connect(tmp_path / "app.db", isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    with open(f"{tmp_path / 'app.db'}.migrator-lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        started = time.monotonic()
        r = cli("down", "--yes", "--lock-timeout", "1", "--url", url)
        took = time.monotonic() - started
    writer.close()
    assert r.code == 4, r.err
    assert took < 4, took  # 1 s of lock timeout and a process start; it was over 6 s


def test_kill_9_during_a_mysql_file_sent_at_once_leaves_a_consistent_record(
    mysql_db: Db, sqldir: Path, cli: Any
) -> None:
    """mysql only (its one-round-trip scripts): a plain file goes as one multi-statement query.
    Killed while it runs, the rows say exactly what ran: either the file finished (applied) or
    the row is `running` at the statement the server had reached, and its last INSERT, which
    commits with the closing writes, is not there."""
    db = mysql_db
    write_migration(
        sqldir,
        "0001_slow",
        "CREATE TABLE b (id INT);\nINSERT INTO b (id) SELECT SLEEP(3);\n",
        "DROP TABLE b;\n",
    )
    proc = _spawn(["up", "--url", db.url], sqldir.parent)
    deadline = time.monotonic() + 20
    while not db.query(
        "SELECT 1 FROM information_schema.PROCESSLIST WHERE INFO LIKE "
        "'%SELECT SLEEP(3)%' AND DB = DATABASE() AND ID <> CONNECTION_ID()"
    ):
        assert time.monotonic() < deadline and proc.poll() is None, "the script never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(4)  # whatever the server still runs of the script ends
    ((status, done),) = db.query("SELECT status, statements_done FROM schema_version")
    rows = db.query("SELECT COUNT(*) FROM b")[0][0]
    assert (status, done, rows) in (("running", 1, 0), ("applied", 2, 1)), (status, done, rows)
    if status == "running":  # reported, and blocks until a person looks
        r = cli("up", "--url", db.url)
        assert r.code == 3 and "interrupted" in r.err
