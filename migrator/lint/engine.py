"""Which files `migrator lint` reads, on which dialects, and how findings become a report.

SPEC §11: without a database URL every version on all three dialects, each through its
effective files; with one, the pending versions of that database's dialect; named versions
always. Static rules (rules.py) make the findings; `merge` adds what --measure saw and the
table sizes of the real database, and orders the findings by those sizes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from migrator.errors import ConfigError, LayoutError, UsageError
from migrator.lexer import LexError, scan_statements, split_alike
from migrator.lint import rules as R
from migrator.lint.model import ERROR, WARNING, Finding, Ignored, LintReport, Measured, TableSize, Unchecked
from migrator.model import DIALECTS, Migration, SqlFile

_EXCERPT = 160


@dataclass(frozen=True)
class LintConfig:
    """`[lint]` of migrator.toml: `disable = [...]`, `severity = {rule = "warning"}`."""

    disabled: frozenset[str] = frozenset()
    severity: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, section: Any, where: str = "migrator.toml") -> LintConfig:
        if section is None:
            return cls()
        if not isinstance(section, dict):
            raise ConfigError(f"{where}: [lint] must be a table", hint='[lint]\ndisable = ["rename-column"]')
        unknown_keys = sorted(set(section) - {"disable", "severity"})
        if unknown_keys:
            raise ConfigError(
                f"{where}: [lint] has unknown setting {', '.join(unknown_keys)}",
                hint='[lint] knows disable = [rule, ...] and severity = {rule = "warning"}',
            )
        disable = section.get("disable", [])
        severity = section.get("severity", {})
        if not isinstance(disable, list) or not all(isinstance(r, str) for r in disable):
            raise ConfigError(
                f"{where}: [lint] disable must be a list of rule ids", hint='disable = ["rename-column"]'
            )
        if not isinstance(severity, dict) or not all(v in (ERROR, WARNING) for v in severity.values()):
            raise ConfigError(
                f'{where}: [lint] severity maps rule ids to "error" or "warning"',
                hint='severity = {drop-column = "warning"}',
            )
        unknown = sorted({*disable, *severity} - set(R.RULES))
        if unknown:
            raise ConfigError(
                f"{where}: [lint] names unknown rule{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
                hint=f"known rules: {', '.join(R.RULES)} (docs/lint.md explains each)",
            )
        return cls(frozenset(disable), dict(severity))


# -- which versions ------------------------------------------------------------------------------


def select(
    by_dialect: dict[str, list[Migration]],
    named: Sequence[int] = (),
    applied: dict[str, set[int]] | None = None,
) -> dict[str, list[Migration]]:
    """The migrations to lint per dialect. `by_dialect` holds the dialects to check (all three
    without a URL, the URL's one with it); `applied`, when a database was read, the versions
    it has; named versions are checked whatever the database says."""
    if named:
        known = {m.version for ms in by_dialect.values() for m in ms}
        missing = sorted(set(named) - known)
        if missing:
            raise UsageError(
                f"no version {', '.join(map(str, missing))} in the migrations folder",
                hint="`migrator status` lists the versions",
            )
        wanted = set(named)
        return {d: [m for m in ms if m.version in wanted] for d, ms in by_dialect.items()}
    if applied is not None:
        return {d: [m for m in ms if m.version not in applied.get(d, set())] for d, ms in by_dialect.items()}
    return dict(by_dialect)


# -- suppressions --------------------------------------------------------------------------------
_IGNORE_LINE = re.compile(
    r"^[ \t]*--[ \t]*migrator[ \t]*:[ \t]*lint-ignore\b.*$", re.IGNORECASE | re.MULTILINE
)


@dataclass
class _Suppressions:
    whole_file: dict[str, str]  # rule -> reason
    by_line: list[tuple[int, dict[str, str]]]  # (line of the directive, rule -> reason)

    def reason(self, rule: str, line: int, previous_line: int) -> str | None:
        """Reason accepting `rule` on a statement starting at `line`; a directive counts for the
        first statement after it (between the previous statement and this one)."""
        if rule in self.whole_file:
            return self.whole_file[rule]
        for at, accepted in self.by_line:
            if previous_line < at < line and rule in accepted:
                return accepted[rule]
        return None


def _suppressions(text: str, first_statement_line: int, rel: str) -> _Suppressions:
    from migrator.directives import lint_ignore

    whole: dict[str, str] = {}
    by_line: list[tuple[int, dict[str, str]]] = []
    if "lint-ignore" not in text:
        return _Suppressions(whole, by_line)
    problems = []
    for m in _IGNORE_LINE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        parsed = lint_ignore(m[0])
        if parsed is None or not parsed[1]:
            continue  # discovery reports a reasonless one already
        names, reason = parsed
        unknown = [n for n in names if n not in R.RULES]
        if unknown:
            problems.append(
                f"{rel}:{line}: lint-ignore names unknown rule {', '.join(unknown)} "
                f"(known: {', '.join(R.RULES)})"
            )
            continue
        accepted = dict.fromkeys(names, reason)
        if line < first_statement_line:
            whole.update(accepted)
        else:
            by_line.append((line, accepted))
    if problems:
        raise LayoutError(problems)
    return _Suppressions(whole, by_line)


# -- the static pass -----------------------------------------------------------------------------


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _EXCERPT else flat[: _EXCERPT - 1] + "…"


@dataclass(frozen=True, slots=True)
class _Statement:  # shared by the dialects that read its file alike
    text: str
    flat: str
    line: int
    column: int


class _Unsplittable(Exception):
    """A file this dialect's lexer cannot split."""

    def __init__(self, file: SqlFile, error: LexError) -> None:
        super().__init__(f"{file.rel}:{error.line}:{error.column}: {error.message}")
        self.file, self.error = file, error


class _Reader:
    """Reads each file once per way of reading it. A text every dialect splits alike (most
    files) is read once for all three; a statement that dialects read alike is flattened once."""

    def __init__(self) -> None:
        self._files: dict[tuple[str, str], list[_Statement]] = {}
        self._flats: dict[tuple[str, bool], str] = {}
        self._accepted: dict[tuple[str, int], _Suppressions] = {}

    def read(self, file: SqlFile, dialect: str) -> list[_Statement]:
        """The file's statements as this dialect reads them."""
        found = self._files.get((file.rel, ""))
        if found is None:
            found = self._files.get((file.rel, dialect))
        if found is not None:
            return found
        text = file.read_text()
        statements = split_alike(text)
        alike = statements is not None
        if statements is None:
            try:
                statements = scan_statements(text, dialect)
            except LexError as exc:
                raise _Unsplittable(file, exc) from None
        family = R.hash_commented(dialect)  # dialects that read a statement alike share its reading
        out = []
        for s in statements:
            flat = self._flats.get((s.text, family))
            if flat is None:
                flat = self._flats[s.text, family] = R.flatten(s.text, dialect)
            out.append(_Statement(s.text, flat, s.line, s.column))
        self._files[file.rel, "" if alike else dialect] = out
        return out

    def split_by(self, rel: str) -> list[str]:
        """The dialects that split this file ("" : every dialect, it reads alike)."""
        return [d for (r, d) in self._files if r == rel]

    def suppressions(self, file: SqlFile, first_statement_line: int) -> _Suppressions:
        """The file's lint-ignore lines (those above `first_statement_line` count for all of it)."""
        key = (file.rel, first_statement_line)
        found = self._accepted.get(key)
        if found is None:
            found = self._accepted[key] = _suppressions(file.read_text(), first_statement_line, file.rel)
        return found


class _FileLint:
    """Findings of one effective up.sql on one dialect."""

    def __init__(
        self,
        m: Migration,
        dialect: str,
        config: LintConfig,
        report: LintReport,
        reader: _Reader,
    ) -> None:
        self.m, self.dialect, self.config, self.report = m, dialect, config, report
        self.file, self.reader = m.up, reader
        self.statements = reader.read(m.up, dialect)
        first = self.statements[0].line if self.statements else 10**9
        self.suppressed = reader.suppressions(m.up, first)

    def add(self, rule_id: str, index: int, touches: list[str]) -> Finding | None:
        rule = R.RULES[rule_id]
        if self.dialect not in rule.dialects or rule_id in self.config.disabled:
            return None
        st = self.statements[index]
        finding = Finding(
            rule=rule_id,
            severity=self.config.severity.get(rule_id, rule.severity),
            dialect=self.dialect,
            version=self.m.version,
            file=self.file.rel,
            line=st.line,
            column=st.column,
            statement=_excerpt(st.text),
            message=rule.why,
            hint=rule.hint,
            touches=list(touches),
        )
        previous = self.statements[index - 1].line if index else 0
        reason = self.suppressed.reason(rule_id, st.line, previous)
        if reason is not None:
            self.report.ignored.append(Ignored(finding, reason))
        else:
            self.report.findings.append(finding)
        return finding

    def run(self, ctx: R.Context, *, same_run: bool) -> None:
        ctx.start_file(same_run=same_run)
        destructive: tuple[int, list[str]] | None = None
        exclusive: tuple[int, list[str]] | None = None
        timeout = self.file.directives.lock_wait_timeout_ms is not None
        first_ddl = first_data = None
        for i, st in enumerate(self.statements):
            if R.sets_lock_timeout(st.flat):
                timeout = True
            if R.is_ddl(st.flat):
                first_ddl = i if first_ddl is None else first_ddl
            elif R.is_data(st.flat):
                first_data = i if first_data is None else first_data
            locks = R.takes_exclusive_lock(st.flat, ctx)
            for rule_id, touches in R.statement_hits(st.flat, ctx):
                self.add(rule_id, i, touches)
                if rule_id in R.DESTRUCTIVE and destructive is None:
                    destructive = (i, touches)
            if locks is not None and exclusive is None and not timeout:
                exclusive = (i, locks)
        if exclusive is not None:
            self.add("missing-lock-timeout", *exclusive)
        if first_ddl is not None and first_data is not None:
            self.add("mysql-mixed-ddl-data", first_data, [])
        if destructive is not None and self._down_loses_data():
            self.add("down-cannot-restore", *destructive)

    def _down_loses_data(self) -> bool:
        if self.file.directives.backup or self.m.down.directives.irreversible:
            return False
        return not any(R.copies_data(st.flat) for st in self.reader.read(self.m.down, self.dialect))


def lint(
    selection: dict[str, list[Migration]], config: LintConfig | None = None, *, one_run: bool = False
) -> LintReport:
    """Static findings of the selected versions, per dialect, in version order. `one_run`:
    the versions deploy together (a database's pending ones), so a table an earlier one
    creates is still empty and unseen when a later one alters it."""
    config = config or LintConfig()
    report = LintReport()
    reader = _Reader()
    unsplittable: dict[str, list[tuple[str, int, _Unsplittable]]] = {}  # rel -> failures
    for dialect in DIALECTS:
        ctx = R.Context(dialect)
        for m in selection.get(dialect, []):
            marks = len(report.findings), len(report.ignored)
            try:
                _FileLint(m, dialect, config, report, reader).run(ctx, same_run=one_run)
            except _Unsplittable as exc:
                del report.findings[marks[0] :], report.ignored[marks[1] :]
                unsplittable.setdefault(exc.file.rel, []).append((dialect, m.version, exc))
    _unchecked_or_layout_error(unsplittable, reader, report)
    order = {d: i for i, d in enumerate(DIALECTS)}
    report.findings.sort(key=lambda f: (f.version, f.file, f.line, order[f.dialect]))
    return report


def _unchecked_or_layout_error(
    unsplittable: dict[str, list[tuple[str, int, _Unsplittable]]], reader: _Reader, report: LintReport
) -> None:
    """A file that splits under none of the dialects linted is a layout error (as `up` would
    stop on it). One that splits under another dialect is a generic file written for that
    one (a mysql DELIMITER trigger, a postgres `$$` body): it is listed as unchecked on the
    dialects that cannot read it, as `validate --offline` accepts it (lexcheck.check_layout)."""
    problems: list[str] = []
    for rel, failures in unsplittable.items():
        read_by = tuple(reader.split_by(rel))
        if read_by:
            others = tuple(d for d in DIALECTS if d in read_by) or DIALECTS
            report.unchecked += [
                Unchecked(d, v, rel, e.error.line, e.error.column, e.error.message, others)
                for d, v, e in failures
            ]
            continue
        found: dict[str, list[str]] = {}
        for dialect, _, exc in failures:
            found.setdefault(str(exc), []).append(dialect)
        problems += list(found) if len(found) == 1 else [f"{p} ({', '.join(ds)})" for p, ds in found.items()]
    if problems:
        raise LayoutError(problems)


# -- the seam for --measure (measure.py) and table sizes (impact.py) -----------------------------

# what each static rule claims the database does, so a measurement can contradict it
_CLAIMS_REWRITE = frozenset({"column-type-rewrite", "volatile-default", "mysql-not-online"})
_CLAIMS_LOCK = {
    "create-index-not-concurrently": (
        "ShareLock",
        "ShareRowExclusiveLock",
        "ExclusiveLock",
        "AccessExclusiveLock",
    ),
    "drop-index-not-concurrently": ("AccessExclusiveLock",),
    "column-type-rewrite": ("AccessExclusiveLock",),
    "set-not-null": ("AccessExclusiveLock",),
}


def _disagreement(f: Finding, m: Measured) -> str:
    if f.rule in _CLAIMS_REWRITE and not m.rewrites:
        if f.rule == "mysql-not-online" and m.online and "COPY" not in m.online.upper():
            return f"measured: the server accepts ALGORITHM={m.online} for it: it runs online, no copy"
        if f.rule != "mysql-not-online":
            return "measured: no table was rewritten on the scratch database"
    claimed = _CLAIMS_LOCK.get(f.rule)
    if claimed and m.locks and f.dialect == "postgres" and not any(lock.mode in claimed for lock in m.locks):
        held = ", ".join(sorted({lock.mode for lock in m.locks}))
        return f"measured: it held only {held}, not the lock this rule expects"
    return ""


def _on(f: Finding, m: Measured) -> bool:
    """Is the finding on this measured statement? Several statements may share a line."""
    return (m.dialect, m.version, m.file) == (f.dialect, f.version, f.file) and m.covers(f.line, f.column)


def merge(
    report: LintReport,
    measured: Iterable[Measured] = (),
    sizes: dict[str, TableSize] | None = None,
) -> LintReport:
    """Add --measure's locks and rewrites to the findings on the same statements (where the
    measurement contradicts the static rule, it wins: the finding drops to a warning and says
    so), add the sizes of the tables each finding touches, and order by them, largest first."""
    measured = list(measured)
    report.measured.extend(measured)
    for f in report.findings:
        m = next((m for m in measured if _on(f, m)), None)
        if m is not None:
            f.locks, f.rewrites = list(m.locks), list(m.rewrites)
            note = _disagreement(f, m)
            if note:
                f.measured_note, f.severity = note, WARNING
    if sizes:
        from migrator.lint.impact import order_by_size

        report.findings = order_by_size(report.findings, sizes)
    return report
