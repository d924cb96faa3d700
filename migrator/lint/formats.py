"""lint's report for machines: GitHub workflow commands and SARIF 2.1.0 (SPEC section 11).

Both name a file by its path from the repository root (the migrations folder included), which
is what GitHub matches against the lines of a pull request. Pure functions of a LintReport.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from migrator import __version__
from migrator.lint.impact import size_phrase
from migrator.lint.model import ERROR, Finding, LintReport

# The project has no home page of its own yet: its package page stands in (one place to change).
INFORMATION_URI = "https://pypi.org/project/migrator/"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


def repo_path(folder: str, file: str) -> str:
    """`sql` + `0002_x/up.sql` -> `sql/0002_x/up.sql`: a posix path from the repository root,
    given the migrations folder as the command line names it from there (`--dir`)."""
    root = PurePosixPath(folder.replace("\\", "/"))
    path = root / file.replace("\\", "/")
    return str(path)[2:] if str(path).startswith("./") else str(path)


def _data(text: str) -> str:
    # GitHub's escaping of a workflow command's message (toolkit's escapeData)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    # ... and of a property value (escapeProperty): also ':' and ',', which delimit them
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _details(finding: Finding) -> str:
    """What the finding knows beyond its message: sizes, measured locks and rewrites."""
    parts = []
    if finding.tables:
        parts.append("On the database: " + ", ".join(size_phrase(t) for t in finding.tables) + ".")
    if finding.locks:
        parts.append(
            "Measured locks: " + ", ".join(f"{lock.mode} on {lock.table}" for lock in finding.locks) + "."
        )
    if finding.rewrites:
        parts.append("Measured rewrite of: " + ", ".join(finding.rewrites) + ".")
    if finding.measured_note:
        parts.append(finding.measured_note)
    return " ".join(parts)


def _text(finding: Finding) -> str:
    return " ".join(part for part in (finding.message, finding.hint, _details(finding)) if part)


def github(report: LintReport, folder: str = "sql") -> str:
    """One workflow command per finding: GitHub shows it on that line of the pull request."""
    lines = []
    for finding in report.findings:
        command = "error" if finding.severity == ERROR else "warning"
        props = {
            "file": repo_path(folder, finding.file),
            "line": str(finding.line),
            "col": str(finding.column),
            "title": f"migrator lint: {finding.rule} ({finding.dialect})",
        }
        head = ",".join(f"{key}={_property(value)}" for key, value in props.items())
        lines.append(f"::{command} {head}::{_data(_text(finding))}")
    return "".join(line + "\n" for line in lines)


def _rule(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.rule,
        "name": "".join(word.capitalize() for word in finding.rule.split("-")),
        "shortDescription": {"text": finding.rule.replace("-", " ")},
        "fullDescription": {"text": finding.message},
        "help": {"text": finding.hint},
        "defaultConfiguration": {"level": _level(finding)},
    }


def _level(finding: Finding) -> str:
    return "error" if finding.severity == ERROR else "warning"


def _result(finding: Finding, folder: str, rule_index: int, reason: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": _level(finding),
        "message": {"text": _text(finding)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": repo_path(folder, finding.file)},
                    "region": {
                        "startLine": max(1, finding.line),
                        "startColumn": max(1, finding.column),
                        "snippet": {"text": finding.statement},
                    },
                }
            }
        ],
        # the same finding on the same statement keeps its identity across commits
        "partialFingerprints": {
            "migratorFinding/v1": f"{finding.rule}:{finding.dialect}:{finding.version}:{finding.file}"
            f":{finding.statement.strip()[:200]}"
        },
        "properties": {
            "dialect": finding.dialect,
            "version": finding.version,
            "locks": [lock.to_dict() for lock in finding.locks],
            "rewrites": list(finding.rewrites),
            "tables": [t.to_dict() for t in finding.tables],
        },
    }
    if reason is not None:  # accepted by a lint-ignore comment in the file
        result["suppressions"] = [{"kind": "inSource", "justification": reason}]
    return result


def sarif(report: LintReport, folder: str = "sql") -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log, for code-scanning uploads. Accepted findings are
    results too, suppressed in source with their reason, so a scan closes them."""
    entries: list[tuple[Finding, str | None]] = [(f, None) for f in report.findings]
    entries += [(i.finding, i.reason) for i in report.ignored]
    rules: dict[str, dict[str, Any]] = {}
    for finding, _ in entries:
        rules.setdefault(finding.rule, _rule(finding))
    index = {rule_id: n for n, rule_id in enumerate(rules)}
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "migrator",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": list(rules.values()),
                    }
                },
                "results": [_result(f, folder, index[f.rule], reason) for f, reason in entries],
                "properties": {"measured": [m.to_dict() for m in report.measured]},
            }
        ],
    }
