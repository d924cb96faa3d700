"""lint's view of the real database: table sizes from catalog statistics, read without
taking or waiting for a lock (SPEC section 11), and findings ordered by them."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from migrator.lint.impact import order_by_size, size_phrase, table_sizes
from migrator.lint.model import ERROR, WARNING, Finding, TableSize
from tests.conftest import Db, connected

ANALYZE = {"sqlite": "ANALYZE", "postgres": "ANALYZE t", "mysql": "ANALYZE TABLE t"}


def fill(db: Db, rows: int, *, analyze: bool = True) -> None:
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, b VARCHAR(60))")
    db.execute("CREATE INDEX t_b ON t (b)")
    values = ", ".join(f"({i}, 'row number {i} padded to be a little longer')" for i in range(rows))
    db.execute(f"INSERT INTO t (id, b) VALUES {values}")
    if analyze:
        db.query(ANALYZE[db.dialect])  # mysql answers ANALYZE TABLE with rows: read them


def test_sizes_are_the_catalog_estimates_of_the_tables_that_exist(db: Db) -> None:
    fill(db, 2000)
    with connected(db) as dialect:
        sizes = table_sizes(dialect, ["t", "no_such_table"])
    assert set(sizes) == {"t"}
    size = sizes["t"]
    assert size.rows is not None and 1000 <= size.rows <= 4000, size  # an estimate, near 2000
    # the table and its index span several pages: more than the rows' text alone
    assert size.bytes is not None and size.bytes > 2000 * 40, size


def test_a_table_never_analysed_has_no_row_estimate_and_is_not_counted(db: Db) -> None:
    if db.dialect == "mysql":
        pytest.skip("InnoDB keeps a row estimate from the first insert on")
    fill(db, 50, analyze=False)
    with connected(db) as dialect:
        sizes = table_sizes(dialect, ["t"])
    assert sizes["t"].rows is None


def _in_thread(fn: Any) -> tuple[Any, float]:
    """Run fn in a thread; (its result or None if still running after 10 s, seconds taken)."""
    out: list[Any] = []
    started = time.monotonic()
    worker = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    worker.start()
    worker.join(10)
    return (out[0] if out else None), time.monotonic() - started


def test_postgres_sizes_do_not_wait_behind_an_access_exclusive_lock(postgres_db: Db) -> None:
    import psycopg

    fill(postgres_db, 500)
    u = postgres_db.parsed
    holder = psycopg.connect(host=u.host, port=u.port or 5432, user=u.user, dbname=u.database)
    try:
        holder.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")  # the transaction stays open
        with connected(postgres_db) as dialect:
            # the hazard is real: a function that opens the table waits behind the lock
            dialect.execute("SET lock_timeout = '300ms'")
            with pytest.raises(Exception, match="lock timeout"):
                dialect.query("SELECT pg_relation_size('t')")
            dialect.execute("RESET lock_timeout")
            sizes, seconds = _in_thread(lambda: table_sizes(dialect, ["t"]))
            # its short lock_timeout was local to its own transaction, which is over
            assert dialect.query("SHOW lock_timeout") == [("0",)]
            assert dialect.conn.info.transaction_status == 0  # idle
        assert sizes is not None and seconds < 2, f"table_sizes waited {seconds:.1f} s"
        assert sizes["t"].rows == 500 and sizes["t"].bytes and sizes["t"].bytes > 0
    finally:
        holder.rollback()
        holder.close()


def test_mysql_sizes_do_not_wait_behind_lock_tables_write(mysql_db: Db) -> None:
    import mysql.connector

    fill(mysql_db, 500)
    u = mysql_db.parsed
    holder = mysql.connector.connect(
        host=u.host, port=u.port or 3306, user=u.user or "root", password=u.password, database=u.database
    )
    try:
        cursor = holder.cursor()
        cursor.execute("LOCK TABLES t WRITE")
        with connected(mysql_db) as dialect:
            # the hazard is real: reading the table itself waits for the metadata lock
            dialect.execute("SET SESSION lock_wait_timeout = 1")
            with pytest.raises(Exception, match="[Ll]ock wait timeout"):
                dialect.query("SELECT COUNT(*) FROM t")
            dialect.execute("SET SESSION lock_wait_timeout = 31536000")
            before = dialect.query("SELECT @@SESSION.lock_wait_timeout")[0][0]
            sizes, seconds = _in_thread(lambda: table_sizes(dialect, ["t"]))
            after = dialect.query("SELECT @@SESSION.lock_wait_timeout")[0][0]
        assert sizes is not None and seconds < 3, f"table_sizes waited {seconds:.1f} s"
        rows = sizes["t"].rows
        assert rows is not None and 250 <= rows <= 1000 and sizes["t"].bytes, sizes  # InnoDB's estimate
        assert after == before  # the session's own limit is given back
    finally:
        holder.cursor().execute("UNLOCK TABLES")
        holder.close()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Db:
    return Db("sqlite", f"sqlite:///{tmp_path / 'app.db'}", tmp_path)


def test_sqlite_sizes_do_not_wait_for_a_writer_holding_the_file(sqlite_db: Db) -> None:
    db = sqlite_db
    fill(db, 100)
    writer = sqlite3.connect(db.parsed.database, isolation_level=None)
    try:
        writer.execute("BEGIN EXCLUSIVE")  # rollback journal: readers get SQLITE_BUSY
        with connected(db) as dialect:
            busy = dialect.query("PRAGMA busy_timeout")[0][0]
            sizes, seconds = _in_thread(lambda: table_sizes(dialect, ["t"]))
            assert dialect.query("PRAGMA busy_timeout")[0][0] == busy
        assert seconds < 2, f"table_sizes waited {seconds:.1f} s"
        assert sizes == {"t": TableSize("t", None, None, note="catalog busy, not waited for")}
    finally:
        writer.rollback()
        writer.close()


def test_sqlite_without_dbstat_gives_the_whole_file_and_says_so(sqlite_db: Db, monkeypatch: Any) -> None:
    db = sqlite_db
    fill(db, 100)
    with connected(db) as dialect:
        real = dialect.query

        def no_dbstat(sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
            return real(sql.replace("dbstat", "no_such_dbstat"), params)

        monkeypatch.setattr(dialect, "query", no_dbstat)
        size = table_sizes(dialect, ["t"])["t"]
        pages, page_size = real("PRAGMA page_count")[0][0], real("PRAGMA page_size")[0][0]
    assert size == TableSize("t", 100, pages * page_size, note="the whole database file")
    assert (
        size_phrase(size)
        == f"t (about 100 rows, {pages * page_size / 1024:.0f} kB for the whole database file)"
    )


def finding(rule: str, touches: list[str], severity: str = WARNING) -> Finding:
    return Finding(
        rule, severity, "postgres", 2, "0002_x/up.sql", 1, 1, "ALTER ...", "m", "h", touches=touches
    )


def test_findings_are_ordered_largest_table_first_unknown_last_stable_otherwise() -> None:
    sizes = {
        "orders": TableSize("orders", 80_000_000, 12 * 1024**3),
        "users": TableSize("users", 5000, 10**6),
        "logs": TableSize("logs", None, 10**9),  # rows unknown: after every known row count
        "tiny": TableSize("tiny", 5000, 10),
    }
    found = [
        finding("a", ["nowhere"]),
        finding("b", ["tiny"]),
        finding("c", ["users", "Orders"]),  # the largest table it touches decides; names fold
        finding("d", ["logs"]),
        finding("e", ["users"], ERROR),
        finding("f", []),
    ]
    ordered = order_by_size(found, sizes)
    assert [f.rule for f in ordered] == ["c", "e", "b", "d", "a", "f"]
    assert ordered[0].tables == [sizes["users"], sizes["orders"]]
    assert ordered[0].to_dict()["tables"][1] == {"name": "orders", "rows": 80_000_000, "bytes": 12 * 1024**3}
    assert ordered[-1].tables == [] and ordered[-2].tables == []


@pytest.mark.parametrize(
    ("size", "phrase"),
    [
        (TableSize("orders", 80_000_000, 12 * 1024**3), "orders (about 80 M rows, 12 GB)"),
        (TableSize("users", 1, 8192), "users (about 1 row, 8 kB)"),
        (TableSize("users", 999, 500), "users (about 999 rows, 500 bytes)"),
        (TableSize("users", 1500, 3 * 1024**2 // 2), "users (about 1.5 k rows, 1.5 MB)"),
        (TableSize("events", 2_400_000_000, None), "events (about 2.4 bn rows)"),
        (TableSize("new", None, None), "new (size unknown)"),
        (TableSize("t", None, None, "catalog busy, not waited for"), "t (catalog busy, not waited for)"),
    ],
)
def test_size_phrase(size: TableSize, phrase: str) -> None:
    assert size_phrase(size) == phrase
