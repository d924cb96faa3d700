"""SPEC §10 batch files: one data statement repeated, each run in its own transaction."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from tests.conftest import Db, write_migration
from tests.test_concurrency import _spawn

SETUP = ("CREATE TABLE items (id INT PRIMARY KEY, price INT, doubled INT);\n"
         "INSERT INTO items (id, price) "
         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) "
         "SELECT i, i FROM n;\n")
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
    write_migration(sqldir, "0001_items", SETUP if db.dialect != "mysql" else SETUP_MYSQL,
                    "DROP TABLE items;\n")
    write_migration(sqldir, "0002_backfill", "-- migrator: batch\n" + BATCH[db.dialect],
                    "-- migrator: batch\nUPDATE items SET doubled = NULL WHERE doubled IS NOT NULL;\n")


def test_batch_file_repeats_until_no_rows_are_affected(db: Db, sqldir: Path, cli: Any) -> None:
    _setup(db, sqldir)
    result = cli("up", "-v", "--url", db.url)
    assert result.code == 0, result.err
    assert db.query("SELECT count(*) FROM items WHERE doubled = price * 2") == [(2500,)]
    assert db.query("SELECT rows_done, status FROM schema_version WHERE version = 2") == [
        (2500, "applied")]
    assert result.out.count("0002_backfill/up.sql:2") == 4  # 3 batches with rows, 1 empty
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
        if (2, "running") in rows and db.query(
                "SELECT rows_done FROM schema_version WHERE version = 2") == [(1000,)]:
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
    again = cli("up", "--url", db.url)
    assert again.code == 0, again.err
    assert db.versions() == [(1, "applied"), (2, "applied")]
    assert db.query("SELECT rows_done FROM schema_version WHERE version = 2") == [(2500,)]
    assert db.query("SELECT count(*) FROM items WHERE doubled IS NULL") == [(0,)]
