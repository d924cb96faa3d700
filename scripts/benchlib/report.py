"""Markdown report: machine, versions, medians, ratios, targets."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import subprocess

from .dbs import SHORT, server_version

COLUMNS = [
    ("W1", "apply"),
    ("W1", "status"),
    ("W1", "rollback"),
    ("W2", "apply"),
    ("W3", "status"),
    ("W3", "validate"),
]
ROWS = ["client", "floor", "migrator", "migrator (tty)", "dbmate", "yoyo"]

ISSUE_TARGETS = (
    "\n".join(
        [
            "| | W1 apply | W1 status | W1 rollback all | W2 apply (peak RSS MB) | W3 status |",
            "|---|---|---|---|---|---|",
            "| database client, 1 transaction | 0.73 / 1.59 / 0.037 | — | 0.19 / 0.31 / 0.033 "
            "| 2.31 / 1.40 / 0.55 (10) | — |",
            "| floor | 0.74 / 2.11 / 0.31 | 0.20 / 0.09 / 0.03 | 0.49 / 0.59 / 0.32 "
            "| 1.83 / 1.58 / 0.57 (182/113/76) | 0.18 / 0.13 / 0.05 |",
            "| dbmate (Go) | 0.79 / 1.87 / 0.28 | 0.021 / 0.011 / 0.012 | 9.25 / 4.32 / 3.75 "
            "| 2.71 / fails / 4.22 | 0.024 / 0.020 / 0.019 |",
            "| yoyo (Python) | 3.36 / 12.6 / 1.50 | 0.76 / 0.76 / 0.71 | 4.43 / 11.6 / 1.53 "
            "| 29.5 / 30.6 / 28.9 | 2.11 / 2.03 / 1.99 |",
        ]
    )
    + "\n"
)


def fmt_s(x: float | None) -> str:
    if x is None:
        return "—"
    if x < 0.1:
        return f"{x:.3f}"
    if x < 10:
        return f"{x:.2f}"
    return f"{x:.1f}"


def fmt_ratio(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}×"


def _cmd(argv: list[str]) -> str:
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return (p.stdout.strip() or p.stderr.strip()).splitlines()[0]
    except Exception as exc:  # noqa: BLE001
        return f"unavailable ({type(exc).__name__})"


def git_revision(repo) -> str:
    rev = _cmd(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(
        ["git", "-C", str(repo), "status", "--porcelain", "--", "migrator"], capture_output=True, text=True
    ).stdout.strip()
    return f"git {rev}" + (" + uncommitted changes in migrator/" if dirty else "")


def machine() -> str:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {mem} RAM, {platform.system()} {platform.release()}"


def versions(b) -> list[tuple[str, str]]:
    py = b.args.python
    meta = (
        "import importlib.metadata as m\n"
        "for p in ('migrator', 'psycopg', 'mysql-connector-python', 'rich'):\n"
        "    try: print(p, m.version(p))\n"
        "    except Exception: print(p, 'not installed')\n"
    )
    out = [("python (venv)", _cmd([py, "-VV"]))]
    try:
        p = subprocess.run([py, "-c", meta], capture_output=True, text=True, timeout=30)
        for line in p.stdout.splitlines():
            name, _, v = line.partition(" ")
            out.append((name, v))
    except Exception:  # noqa: BLE001
        pass
    if getattr(b, "pinned", None):
        out.append(("migrator source", f"{b.pinned}, copied at the start and measured from the copy"))
    else:
        start, end = getattr(b, "rev_start", None), git_revision(b.args.migrator_repo)
        out.append(
            (
                "migrator source",
                end
                if start in (None, end)
                else f"{start} at the start, {end} at the end (the package changed during the run)",
            )
        )
    for d in ("postgres", "mysql", "sqlite"):
        out.append((d, server_version(d, b.pg, b.my)))
    if "dbmate" in b.tools:
        out.append(("dbmate", _cmd([b.tools["dbmate"].exe, "--version"])))
    if "yoyo" in b.tools:
        ypy = os.path.join(os.path.dirname(b.tools["yoyo"].exe), "python")
        out.append(
            (
                "yoyo-migrations",
                _cmd(
                    [
                        ypy,
                        "-c",
                        "import importlib.metadata as m; print(m.version("
                        "'yoyo-migrations'), '(drivers: psycopg', m.version('psycopg'), "
                        "', PyMySQL', m.version('PyMySQL') + ')')",
                    ]
                ),
            )
        )
    return out


def cell(res, wl: str, phase: str, d: str, tool: str, with_rss: bool = False) -> str:
    key = (wl, phase, d, tool)
    if key in res.errors:
        return "fails: " + res.errors[key].replace("|", "/")[:70]
    if key in res.skipped:
        return f"— ({res.skipped[key]})"
    m = res.median(key)
    if m is None:
        return "—"
    s = fmt_s(m)
    if with_rss:
        r = res.rss_mb(key)
        if r is not None:
            s += f" ({r:.0f} MB)"
    return s


def ratio(res, a: tuple, b: tuple) -> float | None:
    x, y = res.median(a), res.median(b)
    return x / y if x is not None and y else None


def render(b, sizes: dict, elapsed: float) -> str:
    res, a = b.res, b.args
    ds = b.dialects
    dl = " / ".join(SHORT[d] for d in ds)
    L: list[str] = []
    w = L.append
    w("# migrator benchmarks")
    w("")
    w(
        "Generated by `scripts/bench` (issue 6). Reproduce with `scripts/bench --install-peers` once, then "
        "`scripts/bench --write docs/benchmarks.md` (about 20 minutes on the 2-core machine); "
        "`scripts/bench --quick` is a 2-minute smoke check. Times are wall-clock medians in seconds; "
        "every tool ran interleaved with the others in the same run, so compare ratios, not absolute times "
        "across runs (this machine swings up to 2×)."
    )
    w("")
    w(
        f"- date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}, "
        f"bench took {elapsed / 60:.1f} min"
    )
    w(f"- command: `{a.command}`")
    w(f"- machine: {machine()}")
    w(
        f"- runs: W1 and W3 {a.runs}, W2 {a.w2_runs}, start-up {a.startup_runs}; "
        "dbmate and yoyo in W1 and W2: "
        f"the first {a.peer_runs} run(s) only (they are slow here), in W3 and start-up every run"
        + (" (**--quick: smaller workloads, not comparable with the targets**)" if a.quick else "")
    )
    w("- workloads: " + "; ".join(f"{k}: {v}" for k, v in sizes.items()))
    w(f"- peak RSS: {b.runner.rss_method}, of the tool's own process (not the server)")
    w("")
    w("| component | version |")
    w("|---|---|")
    for k, v in versions(b):
        w(f"| {k} | {v} |")
    if res.notes:
        w("")
        for n in res.notes:
            w(f"- note: {n}")

    # --- summary --------------------------------------------------------------------------------------
    cols = [c for c in COLUMNS if c[0] in a.workloads]
    if cols:
        w("")
        w(f"## Medians (seconds; cells {dl})")
        w("")
        head = [f"{wl} {ph}" + (" (peak RSS)" if wl == "W2" else "") for wl, ph in cols]
        w("| tool | " + " | ".join(head) + " |")
        w("|---" * (len(cols) + 1) + "|")
        for t in ROWS:
            if t not in b.tools:
                continue
            cells = []
            for wl, ph in cols:
                if not b.tools[t].supports(wl, ph) or (wl == "W3" and t == "migrator (tty)"):
                    cells.append("—")
                    continue
                cells.append(" / ".join(cell(res, wl, ph, d, t, with_rss=(wl == "W2")) for d in ds))
            w(f"| {t} | " + " | ".join(cells) + " |")
        w("")
        w(f"## Ratios (same run; cells {dl})")
        w("")
        w("| ratio | " + " | ".join(f"{wl} {ph}" for wl, ph in cols) + " |")
        w("|---" * (len(cols) + 1) + "|")
        pairs = [
            ("migrator / floor", "migrator", "floor"),
            ("migrator / client", "migrator", "client"),
            ("migrator / dbmate", "migrator", "dbmate"),
            ("migrator / yoyo", "migrator", "yoyo"),
            ("migrator (tty) / migrator", "migrator (tty)", "migrator"),
        ]
        for label, x, y in pairs:
            if x not in b.tools or y not in b.tools:
                continue
            cells = []
            any_value = False
            for wl, ph in cols:
                yph = "status" if (wl, ph) == ("W3", "validate") and y == "floor" else ph
                vals = []
                for d in ds:
                    r = ratio(res, (wl, ph, d, x), (wl, yph, d, y))
                    vals.append(fmt_ratio(r))
                    any_value = any_value or r is not None
                cells.append(" / ".join(vals) if any(v != "—" for v in vals) else "—")
            if any_value:
                w(f"| {label} | " + " | ".join(cells) + " |")
        if ("W3", "validate") in cols:
            w("")
            w(
                "(W3 validate is compared with the floor's status, which already checksums every file and "
                "compares it with the version table.)"
            )
        if ("W2", "apply") in cols:
            w("")
            w(f"Peak RSS in W2 (MB, median of runs; {dl}):")
            w("")
            w("| tool | peak RSS MB |")
            w("|---|---|")
            for t in ROWS:
                if t in b.tools and b.tools[t].supports("W2", "apply"):
                    vals = []
                    for d in ds:
                        r = res.rss_mb(("W2", "apply", d, t))
                        vals.append("—" if r is None else f"{r:.0f}")
                    w(f"| {t} | {' / '.join(vals)} |")

    # --- start-up ---------------------------------------------------------------------------------------
    if "startup" in a.workloads:
        w("")
        w(f"## Start-up (sqlite, empty database, empty migrations folder; median of {a.startup_runs})")
        w("")
        w("| command | median ms | min ms |")
        w("|---|---|---|")
        for (wl, name, _d, _t), times in sorted(res.times.items(), key=lambda kv: kv[0][1]):
            if wl == "startup" and (wl, name, _d, _t) not in res.errors:
                w(f"| `{name}` | {statistics.median(times) * 1000:.0f} | {min(times) * 1000:.0f} |")
        for (wl, name, _d, _t), err in res.errors.items():
            if wl == "startup":
                w(f"| `{name}` | fails: {err} | |")

    # --- many targets ------------------------------------------------------------------------------------
    if "parallel" in a.workloads and getattr(b, "parallel", None) is not None:
        L.extend(b.parallel.render(fmt_s))
    if "lint" in a.workloads and getattr(b, "lint", None) is not None:
        L.extend(b.lint.render(fmt_s))

    # --- extra one-off timings -----------------------------------------------------------------------------
    if res.extra:
        w("")
        w(
            f"W3 set-up, applying {sizes.get('W3', '')} once per tool "
            "(1 run, not interleaved; for information):"
        )
        w("")
        tools = [t for t in ROWS if any(k[2] == t for k in res.extra)]
        w("| tool | " + dl + " |")
        w("|---|---|")
        for t in tools:
            w(
                f"| {t} | "
                + " / ".join(fmt_s(res.extra.get(("W3 apply (set-up, 1 run)", d, t))) for d in ds)
                + " |"
            )

    # --- targets -----------------------------------------------------------------------------------------
    w("")
    w("## Issue 6 targets against this run")
    w("")
    if a.quick:
        w("(--quick run: workload sizes differ from the issue's, so these lines are indicative only.)")
        w("")
    for line in targets(b):
        w(f"- {line}")
    w("")
    w("Targets as measured in the issue (2026-11-25; cells pg / mysql / sqlite):")
    w("")
    w(ISSUE_TARGETS.rstrip())

    # --- detail ------------------------------------------------------------------------------------------
    w("")
    w("## Every measurement (median, min, max, runs; ratio to the floor of the same dialect)")
    w("")
    w("| workload | dialect | tool | median s | min s | max s | runs | × floor | peak RSS MB |")
    w("|---|---|---|---|---|---|---|---|---|")
    keys = sorted(
        set(res.times) | set(res.errors) | set(res.skipped),
        key=lambda k: (
            [c[0] + c[1] for c in COLUMNS].index(k[0] + k[1]) if (k[0], k[1]) in COLUMNS else 99,
            ds.index(k[2]) if k[2] in ds else 9,
            ROWS.index(k[3]) if k[3] in ROWS else 9,
        ),
    )
    for k in keys:
        wl, ph, d, t = k
        if wl == "startup":
            continue
        if k in res.errors or k in res.skipped:
            w(f"| {wl} {ph} | {SHORT[d]} | {t} | {cell(res, *k)} | | | | | |")
            continue
        times = res.times[k]
        fph = "status" if (wl, ph) == ("W3", "validate") else ph
        r = ratio(res, k, (wl, fph, d, "floor"))
        rss = res.rss_mb(k)
        w(
            f"| {wl} {ph} | {SHORT[d]} | {t} | {fmt_s(statistics.median(times))} | {fmt_s(min(times))} | "
            f"{fmt_s(max(times))} | {len(times)} | {fmt_ratio(r) if t != 'floor' else ''} | "
            f"{'' if rss is None else f'{rss:.0f}'} |"
        )

    # --- method ------------------------------------------------------------------------------------------
    w("")
    w("## Method")
    w("")
    w(METHOD.strip())
    w("")
    return "\n".join(L)


def targets(b) -> list[str]:
    res, ds = b.res, b.dialects
    out = []

    def per_dialect(wl, ph, test, other=None):
        parts, verdicts = [], []
        for d in ds:
            m = res.median((wl, ph, d, "migrator"))
            o = res.median(other(d)) if other else None
            if m is None or (other and o is None):
                why = res.errors.get((wl, ph, d, "migrator")) or (res.errors.get(other(d)) if other else None)
                parts.append(f"{SHORT[d]} not measured" + (f" ({why[:60]})" if why else ""))
                continue
            ok, text = test(m, o)
            verdicts.append(ok)
            parts.append(f"{SHORT[d]} {text} {'met' if ok else 'MISSED'}")
        overall = (
            "MET"
            if verdicts and all(verdicts) and len(verdicts) == len(ds)
            else ("MISSED" if verdicts and not all(verdicts) else "partly measured")
        )
        return overall, "; ".join(parts)

    def within_floor(wl, ph, limit):
        """migrator's median at most `limit` × the floor's, per dialect."""
        return per_dialect(
            wl, ph, lambda m, o: (m <= limit * o, f"{m / o:.2f}× floor"), lambda d: (wl, ph, d, "floor")
        )

    if "W1" in b.args.workloads:
        if "dbmate" in b.tools:
            v, t = per_dialect(
                "W1",
                "apply",
                lambda m, o: (m < o, f"{fmt_s(m)} s vs dbmate {fmt_s(o)} s ({m / o:.2f}×)"),
                lambda d: ("W1", "apply", d, "dbmate"),
            )
            out.append(f"**{v}** W1 apply faster than dbmate: {t}")
        v, t = within_floor("W1", "apply", 1.0)
        out.append(f"**{v}** W1 apply below the floor (implied by beating dbmate): {t}")
        v, t = within_floor("W1", "rollback", 1.1)
        out.append(f"**{v}** W1 rollback ≤ 1.1× floor: {t}")
        v, t = per_dialect("W1", "status", lambda m, o: (m <= 0.20, f"{m:.3f} s"))
        out.append(f"**{v}** W1 status ≤ 0.20 s: {t}")
    if "W3" in b.args.workloads:
        for ph in ("status", "validate"):
            v, t = per_dialect("W3", ph, lambda m, o: (m <= 0.35, f"{m:.3f} s"))
            out.append(f"**{v}** W3 {ph} ≤ 0.35 s: {t}")
    if "W2" in b.args.workloads:
        v, t = within_floor("W2", "apply", 1.1)
        out.append(f"**{v}** W2 apply ≤ 1.1× floor: {t}")
        parts, oks = [], []
        for d in ds:
            r = res.rss_mb(("W2", "apply", d, "migrator"))
            if r is None:
                parts.append(f"{SHORT[d]} not measured")
            else:
                oks.append(r <= 80)
                parts.append(f"{SHORT[d]} {r:.0f} MB {'met' if r <= 80 else 'MISSED'}")
        verdict = (
            "MET"
            if oks and all(oks) and len(oks) == len(ds)
            else ("MISSED" if oks and not all(oks) else "partly measured")
        )
        out.append(f"**{verdict}** W2 peak RSS ≤ 80 MB: " + "; ".join(parts))
    if "startup" in b.args.workloads:
        m = res.median(("startup", "migrator --help", "sqlite", "migrator --help"))
        if m is not None:
            out.append(
                f"**{'MET' if m <= 0.100 else 'MISSED'}** start-up `migrator --help` ≤ 100 ms: "
                f"{m * 1000:.0f} ms"
            )
        s = res.median(("startup", "migrator status", "sqlite", "migrator status"))
        if s is not None:
            out.append(f"(no target) `migrator status` on an empty sqlite database: {s * 1000:.0f} ms")
    if "migrator (tty)" in b.tools:
        for wl in ("W1", "W2"):
            if wl not in b.args.workloads:
                continue
            v, t = per_dialect(
                wl,
                "apply",
                lambda m, o: (o <= 1.03 * m, f"{(o / m - 1) * 100:+.0f}%"),
                lambda d, wl=wl: (wl, "apply", d, "migrator (tty)"),
            )
            out.append(
                f"**{v}** progress display costs ≤ 3% on {wl} apply (tty vs plain; noise is a few %): {t}"
            )
    out.append(
        "not measured here: a 300 MB W2 file (`scripts/bench --workloads W2 --w2-rows 3000000 "
        "--tools migrator,floor` checks that peak RSS does not grow with the file)"
    )
    return out


METHOD = """
- **Interleaving**: for each run, for each dialect, for each phase, every tool runs once; the
  tool order rotates by one every run. W1 and W2 give every tool a fresh database per run
  (`CREATE DATABASE bench_<random>` / `DROP ... WITH (FORCE)`, a new sqlite file); W3 applies
  its 3,000 versions once per tool and dialect before any timing, then times `status` (and
  migrator's `validate`) on that database in every run. On postgres an untimed `CHECKPOINT`
  runs before every timed command, so the checkpointer's work for earlier runs is not charged
  to whichever tool is running when it starts.
- **Checks**: after every timed command the bench checks the database: W1 apply = 300 rows in
  the tool's version table, 300 `tN` tables and 5 rows in the last one; W1 rollback = no
  version rows and no `tN` table; W2 = 300,000 rows with the expected `sum(qty)` and 2 version
  rows; status = exit 0 and an output that shows every version applied. A wrong result or a
  non-zero exit is reported as `fails: <reason>` and that tool is not run again for that
  workload and dialect.
- **migrator**: the CLI of the project venv (`--url`, `--dir`; `up`, `status`, `down --to 0
  --yes`, `validate`), stdout and stderr to files (its plain, non-terminal output). By default
  the bench copies `migrator/` when it starts and runs that copy with the venv python (a
  launcher beside the copy), so edits made to the package during the run do not mix into the
  results (`--no-pin` runs `.venv/bin/migrator` as it is). Children run in an empty folder with
  `MIGRATOR_*`, `DATABASE_URL` and `PYTHONDONTWRITEBYTECODE` removed from the environment.
  **migrator (tty)**: the same `up` with stdout and stderr on a 120×40 pseudo-terminal, so the
  rich progress display runs; the bench drains the terminal.
- **floor**: `benchlib/floor.py`, run with the venv python (imports count like migrator's):
  one connection on the same driver (sqlite3, psycopg 3, mysql-connector pure Python); per
  pending version it reads up.sql, splits on `;\\n`, runs the statements and one INSERT of the
  version row (with the file's sha256) in one transaction, commits. Rollback: the down files the
  same way, deleting the version row. Status: SELECT the version table, list the folders,
  sha256 every up.sql and down.sql, compare, print one line per version.
- **client** (W1 and W2): `psql -X -1 -v ON_ERROR_STOP=1 -f file`; `mariadb db` reading
  `SET autocommit=0; source file; COMMIT;` from stdin; `sqlite3 -bail db` reading
  `BEGIN; .read file; COMMIT;`. W1 uses all up files concatenated (rollback: all down files in
  reverse order), without any version table.
- **W1**: 300 versions `NNNN_tN/`, up.sql = `CREATE TABLE tN` (5 columns), `CREATE INDEX`,
  one INSERT of 5 rows (3 statements); down.sql = `DROP TABLE tN`.
- **W2**: version 1 creates table `big` (applied untimed first, by each tool itself); version 2
  is 300 INSERTs of 1,000 rows each (31.6 MB); timed: applying version 2.
- **W3**: 3,000 versions: version 1 creates a table, each other one inserts one row (down
  deletes it); 6,000 files.
- **dbmate**: the Go binary from the npm package (not the node wrapper), one file per version
  with `-- migrate:up` / `-- migrate:down`; `--no-dump-schema up`, `status`, and `rollback`
  once per version (dbmate rolls back one version per process).
- **dbmate on W2/mysql fails** with `invalid connection`: dbmate sends the whole 31.6 MB file
  as one query, larger than MariaDB's `max_allowed_packet` (16 MB by default); the issue's
  table shows the same.
- **Peers run less**: dbmate and yoyo take part in the first run of W1 and W2 only
  (`--peer-runs`; yoyo alone needs over a minute per dialect for W2 here), and in every run of
  W3 and start-up. Their W3 databases are set up with `dbmate up` and `yoyo mark` (the same
  version rows as `yoyo apply`, in a fraction of the time).
- **yoyo**: yoyo-migrations in its own venv with psycopg 3 (`postgresql+psycopg://`) and
  PyMySQL (`mysql://`); `X.sql` + `X.rollback.sql`; `apply --batch`, `list`,
  `rollback --batch --all`.
- **Start-up**: `python -c pass` (the venv interpreter alone), `migrator --help`, the floor's
  status and `migrator status` on an empty sqlite database with an empty migrations folder.
- **Many targets** (`parallel`): `migrator --targets FILE --dir sql up --parallel N` for N in
  1, 4, 8 (interleaved) over 200 fresh sqlite files and over 20 postgres databases created
  before and dropped after each measurement; checked: the summary line says 0 not ok and every
  target has the example's 4 applied versions. mysql is not part of it.
- **lint** (`lint`): `migrator --dir DIR lint --format json` with no database URL over W1 and
  W3 (every version checked on all three dialects from its files; target under 0.5 s for W3's
  3,000 versions), and `migrator --url U --dir W1 lint --measure --format json` per dialect on a
  fresh database. Exit 3 with a JSON report counts as a run (lint found something); the
  workload is skipped with a message when the migrator measured has no `lint` command.
"""
