"""The tools under comparison: migrator (plain and on a terminal), the floor, the database
client and the peers dbmate and yoyo. Each knows its commands per phase, its version table
and how to recognise a correct `status` output."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from .dbs import Database
from .runner import Outcome, Runner
from .workloads import Workload


class Tool:
    name = "?"
    version_table: str | None = None
    peer = False  # dbmate, yoyo: W1 and W2 run them in the first --peer-runs runs only
    setup_runs_sql = True  # W3 set-up runs the migrations (yoyo only marks them)
    phases: tuple[str, ...] = ()

    def __init__(self, runner: Runner) -> None:
        self.r = runner

    def missing(self) -> str | None:
        """Why this tool cannot run here, or None."""
        return None

    def supports(self, wl: str, phase: str) -> bool:
        return phase in self.phases

    def apply(self, db: Database, wl: Workload, **kw) -> Outcome:
        raise NotImplementedError

    def setup(self, db: Database, wl: Workload, **kw) -> Outcome:
        """Untimed: bring a fresh database to "every version applied" (W3)."""
        return self.apply(db, wl, **kw)

    def status(self, db: Database, wl: Workload) -> Outcome:
        raise NotImplementedError

    def rollback(self, db: Database, wl: Workload) -> Outcome:
        raise NotImplementedError

    def validate(self, db: Database, wl: Workload) -> Outcome:
        raise NotImplementedError

    def status_ok(self, out: str, applied: int) -> bool:
        return True


class Migrator(Tool):
    name = "migrator"
    version_table = "schema_version"
    phases = ("apply", "status", "rollback", "validate")

    def __init__(self, runner: Runner, exe: str) -> None:
        super().__init__(runner)
        self.exe = exe

    def missing(self) -> str | None:
        return None if os.access(self.exe, os.X_OK) else f"{self.exe} not found"

    def _cmd(self, db: Database, wl: Workload, *args: str) -> list[str]:
        return [self.exe, "--url", db.migrator_url(), "--dir", str(wl.sql), *args]

    def apply(self, db, wl, **kw):
        return self.r.run(self._cmd(db, wl, "up"), **kw)

    def status(self, db, wl):
        return self.r.run(self._cmd(db, wl, "status"))

    def rollback(self, db, wl):
        return self.r.run(self._cmd(db, wl, "down", "--to", "0", "--yes"))

    def validate(self, db, wl):
        return self.r.run(self._cmd(db, wl, "validate"))

    def status_ok(self, out, applied):
        return bool(re.search(rf"\b{applied}\b", out)) if applied else True


class MigratorTty(Migrator):
    """migrator with its progress display: stdout and stderr on a pseudo-terminal (120x40)."""

    name = "migrator (tty)"
    phases = ("apply",)

    def apply(self, db, wl, **kw):
        return self.r.run(self._cmd(db, wl, "up"), tty=True, **kw)


class Floor(Tool):
    name = "floor"
    version_table = "floor_version"
    phases = ("apply", "status", "rollback")

    def __init__(self, runner: Runner, python: str, script: Path) -> None:
        super().__init__(runner)
        self.python, self.script = python, script

    def missing(self):
        return None if os.access(self.python, os.X_OK) else f"{self.python} not found"

    def _cmd(self, db, wl, action):
        return [self.python, str(self.script), db.dialect, db.floor_target(), str(wl.sql), action]

    def apply(self, db, wl, **kw):
        return self.r.run(self._cmd(db, wl, "up"), **kw)

    def status(self, db, wl):
        return self.r.run(self._cmd(db, wl, "status"))

    def rollback(self, db, wl):
        return self.r.run(self._cmd(db, wl, "down"))

    def status_ok(self, out, applied):
        return f"applied {applied} pending 0 changed 0" in out


class Client(Tool):
    """psql -1 -f / mariadb < / sqlite3 with BEGIN ... COMMIT around `.read`."""

    name = "client"
    phases = ("apply", "rollback")

    def supports(self, wl, phase):
        return wl in ("W1", "W2") and phase in self.phases

    def missing(self):
        need = [c for c in ("psql", "sqlite3") if not shutil.which(c)]
        if not (shutil.which("mariadb") or shutil.which("mysql")):
            need.append("mariadb")
        return f"missing {', '.join(need)}" if need else None

    def _file(self, wl: Workload, direction: str) -> Path:
        if wl.name == "W1":
            return wl.root / f"client_{direction}.sql"
        if wl.name == "W2":
            return wl.root / "client.sql"
        return wl.sql / "0001_big" / "up.sql"  # W2-pre

    def apply(self, db, wl, **kw):
        argv, stdin, _ = db.client_cmd(self._file(wl, "up"))
        return self.r.run(argv, stdin=stdin, **kw)

    def rollback(self, db, wl):
        argv, stdin, _ = db.client_cmd(self._file(wl, "down"))
        return self.r.run(argv, stdin=stdin)


class Peer(Tool):
    """Another migration tool, run from its executable when --install-peers put it there."""

    peer = True
    phases = ("apply", "status", "rollback")

    def __init__(self, runner: Runner, exe: str | None) -> None:
        super().__init__(runner)
        self.exe = exe

    def missing(self):
        return None if self.exe else "not installed (run scripts/bench --install-peers)"


class Dbmate(Peer):
    name = "dbmate"
    version_table = "schema_migrations"

    def _cmd(self, db, wl, *args):
        return [
            self.exe,
            "--url",
            db.dbmate_url(),
            "--migrations-dir",
            str(wl.dbmate),
            "--no-dump-schema",
            *args,
        ]

    def apply(self, db, wl, **kw):
        return self.r.run(self._cmd(db, wl, "up"), **kw)

    def status(self, db, wl):
        return self.r.run(self._cmd(db, wl, "status"))

    def rollback(self, db, wl):
        # dbmate rolls back one version per process: one process per step, timed as a whole
        t0 = time.perf_counter()
        for _ in range(wl.versions):
            o = self.r.run(self._cmd(db, wl, "rollback"))
            if not o.ok:
                return o
        return Outcome(time.perf_counter() - t0)

    def status_ok(self, out, applied):
        return f"Applied: {applied}" in out and "Pending: 0" in out


class Yoyo(Peer):
    name = "yoyo"
    setup_runs_sql = False
    version_table = "_yoyo_migration"

    def _cmd(self, db, wl, command, *args):
        return [self.exe, command, *args, "--no-config-file", "--database", db.yoyo_url(), str(wl.yoyo)]

    def apply(self, db, wl, **kw):
        return self.r.run(self._cmd(db, wl, "apply", "--batch"), **kw)

    def setup(self, db, wl, **kw):
        # `yoyo mark` records every version as applied without running it: the same rows that
        # `apply` leaves in _yoyo_migration, in a fifth of the time (W3 set-up only)
        return self.r.run(self._cmd(db, wl, "mark", "--batch"), **kw)

    def status(self, db, wl):
        return self.r.run(self._cmd(db, wl, "list"))

    def rollback(self, db, wl):
        return self.r.run(self._cmd(db, wl, "rollback", "--batch", "--all"))

    def status_ok(self, out, applied):
        return sum(1 for ln in out.splitlines() if re.match(r"A\s", ln)) == applied


# --- peers: where they live and how to install them -------------------------------------------------
def find_dbmate(cache: Path) -> str | None:
    # the Go binary itself, not the node wrapper in node_modules/.bin (which would add node's start-up)
    hits = sorted(glob.glob(str(cache / "dbmate" / "node_modules" / "@dbmate" / "*" / "bin" / "dbmate")))
    for h in hits:
        if os.access(h, os.X_OK):
            return h
    return shutil.which("dbmate")


def find_yoyo(cache: Path) -> str | None:
    p = cache / "yoyo" / "bin" / "yoyo"
    return str(p) if os.access(p, os.X_OK) else None


def install_peers(cache: Path, python: str) -> list[str]:
    """Install dbmate (npm) and yoyo-migrations (own venv) under cache; return notes on failures."""
    notes = []
    cache.mkdir(parents=True, exist_ok=True)
    d = cache / "dbmate"
    d.mkdir(exist_ok=True)
    if not (d / "package.json").exists():
        (d / "package.json").write_text('{"name": "migrator-bench-peers", "private": true}\n')
    npm = shutil.which("npm")
    if not npm:
        notes.append("dbmate: npm not found")
    else:
        p = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "dbmate@latest"],
            cwd=d,
            capture_output=True,
            text=True,
        )
        if p.returncode != 0 or not find_dbmate(cache):
            notes.append(f"dbmate: npm install failed: {(p.stderr or p.stdout).strip()[-300:]}")
    y = cache / "yoyo"
    if not (y / "bin" / "python").exists():
        p = subprocess.run([python, "-m", "venv", str(y)], capture_output=True, text=True)
        if p.returncode != 0:
            notes.append(f"yoyo: venv failed: {p.stderr.strip()[-300:]}")
            return notes
    # psycopg (3) and PyMySQL: yoyo's drivers for postgresql+psycopg:// and mysql://
    p = subprocess.run(
        [
            str(y / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "yoyo-migrations",
            "psycopg[binary]",
            "pymysql",
        ],
        capture_output=True,
        text=True,
    )
    if p.returncode != 0 or not find_yoyo(cache):
        notes.append(f"yoyo: pip install failed: {p.stderr.strip()[-300:]}")
    return notes
