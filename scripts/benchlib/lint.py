"""The `lint` workload (issue 17): how long `migrator lint` takes.

- static: `migrator --dir W1 lint` and `--dir W3 lint` with no database URL, so every version
  is checked on all three dialects from its files alone (the pre-commit case). Target: under
  0.5 s for W3's 3,000 versions.
- measured: `migrator --url U --dir W1 lint --measure` per reachable dialect: every version is
  run on a scratch database next to U, and the locks and rewrites of each statement recorded.

A lint run that finds something exits 3: that is a result, not a failure, as long as the JSON
document it prints has its findings. When the installed migrator has no `lint` command yet,
the workload is skipped with a message instead of failing.
"""

from __future__ import annotations

import json
import statistics
import sys

from .runner import Outcome
from .workloads import Workload, gen_w1, gen_w3

STATIC_TARGET_S = 0.5  # issue 17: static lint of W3's 3,000 versions


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def lint_outcome(o: Outcome) -> Outcome:
    """Exit 3 with a JSON report is lint's "found something": a successful measurement."""
    if o.ok or not (o.error or "").startswith("exit 3:"):
        return o
    try:
        doc = json.loads(o.stdout)
    except ValueError:
        return o
    if isinstance(doc, dict) and "findings" in doc:
        return Outcome(o.seconds, o.rss_kb, None, o.stdout)
    return o


def findings(o: Outcome) -> str:
    try:
        doc = json.loads(o.stdout)
    except ValueError:
        return "?"
    return str(len(doc.get("findings", []))) if isinstance(doc, dict) else "?"


class LintWorkload:
    def __init__(self, bench, w1_migrations: int, w3_versions: int) -> None:
        self.b = bench
        self.w1_migrations, self.w3_versions = w1_migrations, w3_versions
        self.skipped: str | None = None
        self.times: dict[tuple[str, str], list[float]] = {}  # (label, dialect) -> seconds
        self.errors: dict[tuple[str, str], str] = {}
        self.found: dict[tuple[str, str], str] = {}  # number of findings of the last run
        self.labels: list[str] = []

    def missing(self) -> str | None:
        """Why `migrator lint` cannot be measured here, or None."""
        o = self.b.runner.run([self.b.args.migrator, "lint", "--help"])
        if o.ok:
            return None
        if "invalid choice: 'lint'" in (o.error or ""):
            return "this migrator has no `lint` command yet"
        return f"`migrator lint --help` fails ({(o.error or '')[:100]})"

    def _cmd(self, wl: Workload, *args: str, url: str | None = None) -> list[str]:
        head = [self.b.args.migrator] + (["--url", url] if url else [])
        return [*head, "--dir", str(wl.sql), "lint", "--format", "json", *args]

    def run(self, runs: int) -> None:
        self.skipped = self.missing()
        if self.skipped:
            log(f"lint: skipped: {self.skipped}")
            return
        w1 = gen_w1(self.b.scratch / "lint-w1", self.w1_migrations)
        w3 = gen_w3(self.b.scratch / "lint-w3", self.w3_versions)
        static = {
            f"static, W1 ({w1.versions} versions)": self._cmd(w1),
            f"static, W3 ({w3.versions} versions)": self._cmd(w3),
        }
        self.labels = list(static)
        log(
            f"lint: {runs} runs of static lint over W1 and W3, "
            f"--measure over W1 on {', '.join(self.b.dialects)}"
        )
        for run in range(runs):
            for label in self.b.order(list(static), run):
                self._measure(label, "all three", lambda argv=static[label]: self.b.runner.run(argv))
            for d in self.b.order(list(self.b.dialects), run):
                label = f"--measure, W1 ({w1.versions} versions)"
                db = self.b.new_db(d)
                try:
                    self._measure(
                        label,
                        d,
                        lambda db=db: self.b.runner.run(
                            self._cmd(w1, "--measure", url=db.migrator_url()),
                            timeout=max(self.b.args.timeout, 1800),
                        ),
                    )
                finally:
                    self.b.drop([db])
                if label not in self.labels:
                    self.labels.append(label)

    def _measure(self, label: str, dialect: str, fn) -> None:
        key = (label, dialect)
        if key in self.errors:
            return
        o = lint_outcome(fn())
        if o.ok:
            self.times.setdefault(key, []).append(o.seconds)
            self.found[key] = findings(o)
        else:
            self.errors[key] = o.error or "?"
        log(f"  lint {label:<32} {dialect:<10} " + (f"{o.seconds:.3f} s" if o.ok else f"FAILS: {o.error}"))

    def render(self, fmt_s) -> list[str]:
        out = ["", "## lint (issue 17)", ""]
        if self.skipped:
            out.append(f"Skipped: {self.skipped}.")
            return out
        out += [
            "Static lint reads the files only and checks each version on all three dialects; "
            "`--measure` runs W1 on a scratch database next to the bench's database and records "
            f"each statement's locks and rewrites. Target for static W3: under {STATIC_TARGET_S} s.",
            "",
            "| run | dialect | median s | min s | runs | findings |",
            "|---|---|---|---|---|---|",
        ]
        for key in sorted(set(self.times) | set(self.errors), key=lambda k: (self.labels.index(k[0]), k[1])):
            label, dialect = key
            if key in self.errors:
                out.append(f"| {label} | {dialect} | fails: {self.errors[key][:80]} | | | |")
                continue
            times = self.times[key]
            out.append(
                f"| {label} | {dialect} | {fmt_s(statistics.median(times))} | {fmt_s(min(times))} | "
                f"{len(times)} | {self.found.get(key, '?')} |"
            )
        w3 = [k for k in self.times if k[0].startswith("static, W3")]
        if w3 and not any(k in self.errors for k in w3):
            m = statistics.median(self.times[w3[0]])
            verdict = "meets" if m < STATIC_TARGET_S else "misses"
            out += ["", f"- static lint of W3: {fmt_s(m)} s, {verdict} the target of {STATIC_TARGET_S} s"]
        return out
