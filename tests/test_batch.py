"""SPEC §10 batch files: one data statement repeated, each run in its own transaction."""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path
from typing import Any

from tests.conftest import Db, run_measured, write_migration
from tests.test_concurrency import _spawn

SETUP = (
    "CREATE TABLE items (id INT PRIMARY KEY, price INT, doubled INT);\n"
    "INSERT INTO items (id, price) "
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) "
    "SELECT i, i FROM n;\n"
)
SETUP_MYSQL = "SET SESSION max_recursive_iterations = 5000;\n" + SETUP
BATCH = {
    # mysql cannot LIMIT inside an IN subquery, but can LIMIT an UPDATE
    "mysql": "UPDATE items SET doubled = price * 2 WHERE doubled IS NULL LIMIT 1000;\n",
    "postgres": "UPDATE items SET doubled = price * 2 WHERE id IN "
    "(SELECT id FROM items WHERE doubled IS NULL LIMIT 1000);\n",
    "sqlite": "UPDATE items SET doubled = price * 2 WHERE id IN "
    "(SELECT id FROM items WHERE doubled IS NULL LIMIT 1000);\n",
}


def _setup(db: Db, sqldir: Path) -> None:
    write_migration(
        sqldir, "0001_items", SETUP if db.dialect != "mysql" else SETUP_MYSQL, "DROP TABLE items;\n"
    )
    write_migration(
        sqldir,
        "0002_backfill",
        "-- migrator: batch\n" + BATCH[db.dialect],
        "-- migrator: batch\nUPDATE items SET doubled = NULL WHERE doubled IS NOT NULL;\n",
    )


def test_batch_file_repeats_until_no_rows_are_affected(db: Db, sqldir: Path, cli: Any) -> None:
    _setup(db, sqldir)
    result = cli("up", "-v", "--url", db.url)
    assert result.code == 0, result.err
    assert db.query("SELECT count(*) FROM items WHERE doubled = price * 2") == [(2500,)]
    assert db.query("SELECT rows_done, status FROM schema_version WHERE version = 2") == [(2500, "applied")]
    # -v: a line per batch (3 with rows, 1 empty), then the file's line with the totals
    assert result.out.count("  0002_backfill/up.sql: ") == 4
    assert "  0002_backfill/up.sql: 3 batches, 2,500 rows, " in result.out
    assert re.search(
        r"applied 0002_backfill in (\d+ ms|[\d.]+ s) \(4 batches, 2,500 rows, [\d,]+ rows/s\)", result.out
    )
    down = cli("down", "--yes", "--url", db.url)
    assert down.code == 0, down.err
    assert db.query("SELECT count(*) FROM items WHERE doubled IS NULL") == [(2500,)]


def test_batch_file_with_two_statements_is_a_layout_error(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_b", "-- migrator: batch\nSELECT 1;\nSELECT 2;\n")
    result = cli("up", "--url", db.url)
    assert result.code == 2
    assert "exactly one data statement" in result.err


def test_killed_batch_resumes_on_the_next_up(db: Db, sqldir: Path, cli: Any) -> None:
    _setup(db, sqldir)
    proc = _spawn(["up", "--batch-pause", "2s", "--url", db.url], sqldir.parent)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = db.versions()
        if (2, "running") in rows and db.query("SELECT rows_done FROM schema_version WHERE version = 2") == [
            (1000,)
        ]:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the first batch never committed")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert db.versions() == [(1, "applied"), (2, "running")]
    status = cli("validate", "--url", db.url)
    assert status.code == 0, status.out  # an interrupted batch does not block
    assert "backfilling, 1000 rows so far" in cli("status", "--url", db.url).out
    # --json keeps the SPEC's status and gives the count its own field, for a script to read
    versions = json.loads(cli("status", "--json", "--url", db.url).out)["versions"]
    assert [(v["version"], v["state"], v["rows_done"]) for v in versions] == [
        (1, "applied", None),
        (2, "running", 1000),
    ]
    again = cli("up", "--url", db.url)
    assert again.code == 0, again.err
    assert db.versions() == [(1, "applied"), (2, "applied")]
    assert db.query("SELECT rows_done FROM schema_version WHERE version = 2") == [(2500,)]
    assert db.query("SELECT count(*) FROM items WHERE doubled IS NULL") == [(0,)]


def _big_setup(db: Db, sqldir: Path, rows: int) -> None:
    setup = SETUP.replace("i < 2500", f"i < {rows}")
    if db.dialect == "mysql":
        setup = f"SET SESSION max_recursive_iterations = {rows + 1};\n" + setup
    write_migration(sqldir, "0001_items", setup, "DROP TABLE items;\n")
    write_migration(
        sqldir,
        "0002_backfill",
        "-- migrator: batch\n" + BATCH[db.dialect],
        "-- migrator: batch\nUPDATE items SET doubled = NULL WHERE doubled IS NOT NULL;\n",
    )


def test_a_100k_row_backfill_in_batches_of_1000_with_flat_memory(db: Db, tmp_path: Path) -> None:
    """SPEC §10 / issue 9: the right result, progress with rows and rate, and a peak RSS that
    does not grow with the number of rows or batches."""
    peaks, outs = {}, {}
    for rows in (10_000, 100_000):
        sqldir = tmp_path / f"sql{rows}"
        _big_setup(db, sqldir, rows)
        table = f"sv_{rows}"
        code, out, err, peaks[rows] = run_measured(
            "--url", db.url, "--dir", str(sqldir), "--table", table, "up", cwd=tmp_path
        )
        assert code == 0, err
        outs[rows] = out
        assert db.query("SELECT COUNT(*) FROM items WHERE doubled = price * 2") == [(rows,)]
        assert db.query(f"SELECT status, rows_done FROM {table} WHERE version = 2") == [("applied", rows)]
        db.execute("DROP TABLE items")
    assert re.search(
        r"applied 0002_backfill in (\d+ ms|[\d.]+ s) \(101 batches, 100,000 rows, [\d,]+ rows/s\)",
        outs[100_000],
    ), outs[100_000]
    assert peaks[100_000] - peaks[10_000] < 5_000, peaks  # kB: ten times the rows, same memory


def test_a_killed_100k_row_backfill_resumes_to_the_right_result(db: Db, sqldir: Path, cli: Any) -> None:
    _big_setup(db, sqldir, 100_000)
    proc = _spawn(["up", "--batch-pause", "50ms", "--url", db.url], sqldir.parent)
    deadline = time.monotonic() + 60
    done: list[tuple[Any, ...]] = []
    while time.monotonic() < deadline:
        if "schema_version" in db.tables():
            done = db.query("SELECT rows_done FROM schema_version WHERE version = 2 AND status = 'running'")
        if done and (done[0][0] or 0) >= 20_000:
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"the backfill never got going: {done}")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    ((so_far,),) = db.query("SELECT rows_done FROM schema_version WHERE version = 2")
    assert 20_000 <= so_far < 100_000
    # what the row says is exactly what committed: each batch wrote its rows and the count together
    assert db.query("SELECT COUNT(*) FROM items WHERE doubled IS NOT NULL") == [(so_far,)]
    assert f"backfilling, {so_far:,} rows so far".replace(",", "") in cli(
        "status", "--url", db.url
    ).out.replace(",", "")
    again = cli("up", "--url", db.url)
    assert again.code == 0, again.err
    assert db.query("SELECT COUNT(*) FROM items WHERE doubled = price * 2") == [(100_000,)]
    assert db.query("SELECT status, rows_done FROM schema_version WHERE version = 2") == [
        ("applied", 100_000)
    ]


# Each run adds 1 to the same two rows: the statement never runs out of rows to change.
_SAME_TWO = "UPDATE items SET price = price + 1 WHERE id IN (SELECT id FROM items ORDER BY id LIMIT 2);\n"
RUNAWAY = {
    "mysql": "UPDATE items SET price = price + 1 ORDER BY id LIMIT 2;\n",
    "postgres": _SAME_TWO,
    "sqlite": _SAME_TWO,
}


def test_a_batch_that_never_runs_out_of_rows_stops_at_its_bound(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(
        sqldir,
        "0001_items",
        "CREATE TABLE items (id INT PRIMARY KEY, price INT, doubled INT);\n"
        "INSERT INTO items (id, price) VALUES (1, 0), (2, 0), (3, 0);\n",
        "DROP TABLE items;\n",
    )
    write_migration(
        sqldir, "0002_runaway", "-- migrator: batch\n-- migrator: max-batches 3\n" + RUNAWAY[db.dialect]
    )
    result = cli("up", "--url", db.url)
    assert result.code == 1, result.out + result.err
    assert (
        "error: version 2 (0002_runaway) up stopped: 0002_runaway/up.sql is a `batch` file whose "
        "statement still changed rows in batch 4, past its bound of 3 batches (8 rows changed so far)"
    ) in result.err
    assert "The 4 batches committed and stay; version 2 is recorded as failed" in result.err
    assert (
        "hint: make the statement skip the rows it already did (e.g. `WHERE new_col IS NULL`); if it "
        "is making progress and needs more batches, raise the bound with `-- migrator: max-batches N` "
        "at the top of 0002_runaway/up.sql. Then run `migrator repair 2` and `migrator up`"
    ) in result.err
    assert "Traceback" not in result.err
    # what committed stays, and the row is failed (not running: the next up must not loop again)
    assert db.query("SELECT id, price FROM items ORDER BY id") == [(1, 4), (2, 4), (3, 0)]
    assert db.query("SELECT status, rows_done FROM schema_version WHERE version = 2") == [("failed", 8)]
    blocked = cli("up", "--url", db.url)
    assert blocked.code == 3 and "past max-batches 3" in blocked.err, blocked.err
    # the way out the hint gives works: fix the statement, repair, up
    fixed = BATCH[db.dialect].replace("doubled = price * 2", "doubled = price")
    (sqldir / "0002_runaway" / "up.sql").write_text("-- migrator: batch\n" + fixed, encoding="utf-8")
    assert cli("repair", "2", "--yes", "--url", db.url).code == 0
    again = cli("up", "--url", db.url)
    assert again.code == 0, again.err
    assert db.versions() == [(1, "applied"), (2, "applied")]
    assert db.query("SELECT count(*) FROM items WHERE doubled = price") == [(3,)]


def test_a_batch_that_needs_exactly_its_bound_finishes(db: Db, sqldir: Path, cli: Any) -> None:
    _setup(db, sqldir)  # 2,500 rows in batches of 1,000: three batches change rows, the fourth none
    up = sqldir / "0002_backfill" / "up.sql"
    up.write_text("-- migrator: max-batches 3\n" + up.read_text(encoding="utf-8"), encoding="utf-8")
    result = cli("up", "--url", db.url)
    assert result.code == 0, result.err
    assert db.query("SELECT rows_done, status FROM schema_version WHERE version = 2") == [(2500, "applied")]


def test_max_batches_needs_a_batch_file_and_a_number(sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_a", "-- migrator: max-batches 10\nUPDATE t SET a = 1;\n")
    write_migration(
        sqldir, "0002_b", "-- migrator: batch\n-- migrator: max-batches lots\nUPDATE t SET a = 1;\n"
    )
    result = cli("validate", "--offline")
    assert result.code == 2, result.out + result.err
    assert (
        "0001_a/up.sql: directive 'max-batches' bounds a `batch` file; add `-- migrator: batch`" in result.err
    )
    assert (
        "0002_b/up.sql:2: directive 'max-batches': needs a whole number of batches above 0, "
        "such as 50000 (got 'lots')" in result.err
    )
