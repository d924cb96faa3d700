"""Deterministic workload generation.

Every workload is written once per bench run into a temp dir, in one folder per tool format:

  <wl>/sql/NNNN_name/{up,down}.sql      migrator and the floor program
  <wl>/dbmate/NNNN_name.sql             dbmate: `-- migrate:up` / `-- migrate:down` sections
  <wl>/yoyo/NNNN_name.sql + .rollback.sql
  <wl>/client_up.sql, client_down.sql   W1: every up (ascending) / down (descending) file, concatenated

W2 also has a `pre` tree with version 1 only (the table), applied untimed before the timed run.

Every statement ends with ";\\n" and no string literal contains ";", so the floor program may
split on ";\\n". Literals use only '' escapes (no backslashes): the same text is valid on sqlite,
postgres and mysql.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path

WORDS = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike "
    "november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu "
    "O''Brien d''Artagnan"
).split()


@dataclass
class Workload:
    name: str
    root: Path
    versions: int  # number of version folders
    expect: dict = field(default_factory=dict)

    @property
    def sql(self) -> Path:
        return self.root / "sql"

    @property
    def dbmate(self) -> Path:
        return self.root / "dbmate"

    @property
    def yoyo(self) -> Path:
        return self.root / "yoyo"

    def pre(self) -> Workload:
        return Workload(self.name + "-pre", self.root / "pre", 1)


def _write_version(root: Path, folder: str, up: str, down: str) -> None:
    d = root / "sql" / folder
    d.mkdir(parents=True)
    (d / "up.sql").write_text(up)
    (d / "down.sql").write_text(down)
    (root / "dbmate").mkdir(exist_ok=True)
    (root / "dbmate" / f"{folder}.sql").write_text(f"-- migrate:up\n{up}\n-- migrate:down\n{down}")
    (root / "yoyo").mkdir(exist_ok=True)
    (root / "yoyo" / f"{folder}.sql").write_text(up)
    (root / "yoyo" / f"{folder}.rollback.sql").write_text(down)


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


# --- W1: many small migrations -----------------------------------------------------------------
W1_ROWS = 5


def w1_up(n: int, rng: random.Random) -> str:
    rows = ",\n".join(
        f"({i}, 'name {n}-{i}', {rng.randrange(1000)}, {rng.randrange(100000) / 100:.2f}, '{_text(rng, 4)}')"
        for i in range(1, W1_ROWS + 1)
    )
    return (
        f"CREATE TABLE t{n} (\n  id INTEGER NOT NULL PRIMARY KEY,\n  name VARCHAR(64) NOT NULL,\n"
        f"  qty INTEGER NOT NULL,\n  price DECIMAL(10,2),\n  note VARCHAR(200)\n);\n"
        f"CREATE INDEX t{n}_name ON t{n} (name);\n"
        f"INSERT INTO t{n} (id, name, qty, price, note) VALUES\n{rows};\n"
    )


def gen_w1(root: Path, migrations: int) -> Workload:
    rng = random.Random(1)
    ups, downs = [], []
    for n in range(1, migrations + 1):
        up, down = w1_up(n, rng), f"DROP TABLE t{n};\n"
        _write_version(root, f"{n:04d}_t{n}", up, down)
        ups.append(up)
        downs.append(down)
    (root / "client_up.sql").write_text("".join(ups))
    (root / "client_down.sql").write_text("".join(reversed(downs)))
    return Workload("W1", root, migrations, {"tables": migrations, "last_rows": W1_ROWS})


# --- W2: one big data migration ------------------------------------------------------------------
W2_PER_INSERT = 1000
W2_TABLE = (
    "CREATE TABLE big (\n  id INTEGER NOT NULL PRIMARY KEY,\n  name VARCHAR(64) NOT NULL,\n"
    "  qty INTEGER NOT NULL,\n  price DECIMAL(12,2) NOT NULL,\n  note VARCHAR(200) NOT NULL\n);\n"
)


def gen_w2(root: Path, rows: int) -> Workload:
    rng = random.Random(2)
    _write_version(root, "0001_big", W2_TABLE, "DROP TABLE big;\n")
    _write_version(root / "pre", "0001_big", W2_TABLE, "DROP TABLE big;\n")
    folder = "0002_big_data"
    d = root / "sql" / folder
    d.mkdir(parents=True)
    up = d / "up.sql"
    qty_sum = 0
    with open(up, "w") as f:
        for start in range(1, rows + 1, W2_PER_INSERT):
            vals = []
            for i in range(start, min(start + W2_PER_INSERT, rows + 1)):
                q = rng.randrange(100000)
                qty_sum += q
                vals.append(
                    f"({i}, 'product number {i:07d}', {q}, {rng.randrange(10000000) / 100:.2f}, "
                    f"'{_text(rng, 6 + rng.randrange(4))}')"
                )
            f.write("INSERT INTO big (id, name, qty, price, note) VALUES\n")
            f.write(",\n".join(vals))
            f.write(";\n")
    down = "DELETE FROM big;\n"
    (d / "down.sql").write_text(down)
    (root / "client.sql").symlink_to(up)
    # dbmate needs the sections in one file: a copy with the header lines
    with open(root / "dbmate" / f"{folder}.sql", "w") as out, open(up) as src:
        out.write("-- migrate:up\n")
        while chunk := src.read(1 << 20):
            out.write(chunk)
        out.write(f"\n-- migrate:down\n{down}")
    os.symlink(up, root / "yoyo" / f"{folder}.sql")
    (root / "yoyo" / f"{folder}.rollback.sql").write_text(down)
    return Workload("W2", root, 2, {"rows": rows, "qty_sum": qty_sum, "bytes": up.stat().st_size})


# --- W3: many applied versions --------------------------------------------------------------------
def gen_w3(root: Path, versions: int) -> Workload:
    _write_version(root, "0001_w3", "CREATE TABLE w3 (v INTEGER NOT NULL);\n", "DROP TABLE w3;\n")
    for n in range(2, versions + 1):
        _write_version(
            root, f"{n:04d}_v{n}", f"INSERT INTO w3 (v) VALUES ({n});\n", f"DELETE FROM w3 WHERE v = {n};\n"
        )
    return Workload("W3", root, versions, {"rows": versions - 1})
