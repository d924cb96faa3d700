"""The `parallel` workload: one `migrator --targets FILE up` over many databases, at several
`--parallel` levels, to see where running targets side by side stops paying on this machine.

Every target gets the bundled example (`sql/` of the repository: 4 versions). sqlite: N files;
postgres: M databases created by the bench before each measurement and dropped after it. Levels
are interleaved (the order rotates every run). Besides wall time the bench records the CPU time
of the migrator process (user + system, from the bench's own child accounting) and, when the
postgres server runs on this machine and /proc is readable, the CPU time the server spent
(its processes' own and reaped children's time), to tell the GIL from the server apart.
"""

from __future__ import annotations

import datetime
import os
import shutil
import statistics

from .dbs import SHORT, Database, VerifyError
from .runner import Outcome

EXAMPLE_VERSIONS = 4  # sql/ of the repository: 0001..0004 on every dialect
DIALECTS = ("sqlite", "postgres")


def log(msg: str) -> None:
    import sys

    print(msg, file=sys.stderr, flush=True)


def server_cpu_s() -> float | None:
    """CPU seconds used so far by local postgres processes, counting exited backends (the
    postmaster reaps them, so their time lands in its cutime/cstime). None if not visible."""
    tick = os.sysconf("SC_CLK_TCK")
    total, seen = 0, False
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        if comm not in ("postgres", "postmaster"):
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        # fields[11..14] = utime stime cutime cstime (stat fields 14-17)
        total += sum(int(x) for x in fields[11:15])
        seen = True
    return total / tick if seen else None


class ParallelWorkload:
    def __init__(self, bench, sqlite_targets: int, pg_targets: int, levels: list[int]) -> None:
        self.b = bench
        self.counts = {"sqlite": sqlite_targets, "postgres": pg_targets}
        self.levels = levels
        self.sql = bench.scratch / "parallel" / "sql"
        shutil.copytree(bench.args.migrator_repo / "sql", self.sql)
        self.cpu: dict[tuple, list[float]] = {}  # key -> migrator process CPU s per run
        self.server: dict[tuple, list[float]] = {}  # key -> postgres server CPU s per run

    def dialects(self) -> list[str]:
        return [d for d in DIALECTS if d in self.b.dialects]

    def run(self, runs: int) -> None:
        for run in range(runs):
            for d in self.dialects():
                log(f"parallel run {run + 1}/{runs} {d}: {self.counts[d]} targets")
                for level in self.b.order(self.levels, run):
                    self.measure(d, level)

    def measure(self, d: str, level: int) -> None:
        key = ("parallel", f"--parallel {level}", d, "migrator")
        if key in self.b.res.errors:
            return
        dbs = [Database(d, self.b.scratch, self.b.pg, self.b.my) for _ in range(self.counts[d])]
        try:
            for db in dbs:  # untimed
                db.create()
            targets = self.b.scratch / f"targets-{d}.txt"
            targets.write_text("".join(db.migrator_url() + "\n" for db in dbs))
            argv = [
                self.b.args.migrator,
                "--targets",
                str(targets),
                "--dir",
                str(self.sql),
                "up",
                "--parallel",
                str(level),
            ]
            t0, s0 = os.times(), server_cpu_s() if d == "postgres" else None
            o = self.b.runner.run(argv)
            t1, s1 = os.times(), server_cpu_s() if d == "postgres" else None
            self.b.measure(key, lambda: o, lambda o: self.check(dbs, o), f"migrator --parallel {level}")
            if o.ok and key not in self.b.res.errors:
                cpu = (t1.children_user - t0.children_user) + (t1.children_system - t0.children_system)
                self.cpu.setdefault(key, []).append(cpu)
                if s0 is not None and s1 is not None:
                    self.server.setdefault(key, []).append(s1 - s0)
        finally:
            for db in dbs:
                db.drop()

    def check(self, dbs: list[Database], o: Outcome) -> str | None:
        last = o.stdout.strip().splitlines()[-1] if o.stdout.strip() else ""
        if last != f"{len(dbs)} target(s), 0 not ok; exit 0":
            return f"last line {last!r}"
        for db in dbs:
            try:
                got = db.query_row("SELECT count(*) FROM schema_version WHERE status = 'applied'")
            except VerifyError as exc:
                return f"{db.name}: {exc}"
            if got != [str(EXAMPLE_VERSIONS)]:
                return f"{db.name}: {got} applied versions, expected {EXAMPLE_VERSIONS}"
        return None

    # --- report -------------------------------------------------------------------------------
    def render(self, fmt_s) -> list[str]:
        """The `## Many targets` section of docs/benchmarks.md."""
        res, a = self.b.res, self.b.args
        out = ["", "## Many targets: `--targets FILE up --parallel N` (`--workloads parallel`)", ""]
        out.append(
            f"One `migrator --targets FILE up` applies the bundled example (`sql/`, "
            f"{EXAMPLE_VERSIONS} versions) to every target: fresh sqlite files, and postgres databases "
            f"the bench creates before and drops after each measurement (untimed). Median of "
            f"{a.parallel_runs} run(s), levels interleaved, on {os.cpu_count()} cores. CPU = user + system "
            "seconds of the migrator process; busy cores = CPU / wall; server CPU = what the local "
            "postgres processes used during the run (backends included)."
        )
        out.append("")
        when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        out.append(
            f"Measured {when} with `{a.command}`; migrator source "
            f"{getattr(self.b, 'pinned', None) or 'as installed'}."
        )
        out.append("")
        head = ["targets"] + [f"--parallel {n}" for n in self.levels]
        head += [f"speed-up ×{n}" for n in self.levels[1:]]
        head += ["migrator CPU s (busy cores)", "server CPU s"]
        out.append("| " + " | ".join(head) + " |")
        out.append("|---" * len(head) + "|")
        notes = []
        for d in self.dialects():
            keys = [("parallel", f"--parallel {n}", d, "migrator") for n in self.levels]
            med = [res.median(k) for k in keys]
            cells = [f"{self.counts[d]} {SHORT[d]} {'files' if d == 'sqlite' else 'databases'}"]
            for k, m in zip(keys, med, strict=True):
                cells.append(f"fails: {res.errors[k][:60]}" if k in res.errors else fmt_s(m))
            base = med[0]
            cells += ["—" if not (base and m) else f"{base / m:.2f}×" for m in med[1:]]
            cpu_cells, server_cells = [], []
            for k, m in zip(keys, med, strict=True):
                cpu = statistics.median(self.cpu[k]) if self.cpu.get(k) else None
                cpu_cells.append("—" if cpu is None or not m else f"{cpu:.1f} ({cpu / m:.2f})")
                srv = statistics.median(self.server[k]) if self.server.get(k) else None
                server_cells.append("—" if srv is None else f"{srv:.1f}")
            cells.append(" / ".join(cpu_cells))
            cells.append(" / ".join(server_cells) if d == "postgres" else "—")
            out.append("| " + " | ".join(cells) + " |")
            if all(med):
                best = self.levels[med.index(min(med))]
                steps = [
                    f"--parallel {self.levels[i + 1]} vs {self.levels[i]}: {med[i] / med[i + 1]:.2f}×"
                    for i in range(len(self.levels) - 1)
                ]
                notes.append(
                    f"{SHORT[d]}: {med[0] / self.counts[d] * 1000:.0f} ms per target at "
                    f"--parallel {self.levels[0]}; fastest at --parallel {best}; " + "; ".join(steps)
                )
        out.append("")
        out += [f"- {n}" for n in notes]
        return out
