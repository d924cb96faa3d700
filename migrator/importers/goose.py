"""goose: `<version>_<name>.sql` with `-- +goose Up` / `Down` annotations; Go migrations are
code, not SQL, and cannot be imported."""

from __future__ import annotations

import re

from migrator.importers.scan import Scan, Source, has_sql, one_file_source

NAMING = "goose files are named <version>_<name>.sql with -- +goose Up / Down"
_FILE = re.compile(r"^(\d+)_(.*)\.(sql|go)$")
_ANNOTATION = re.compile(r"^--\s*\+goose\s+(.*?)\s*$", re.IGNORECASE)
_WORDS = ("up", "down", "statementbegin", "statementend", "no transaction", "envsub on", "envsub off")


def read(scan: Scan) -> list[Source]:
    found = []
    for path in scan.files():
        match = _FILE.match(path.name)
        if path.suffix not in (".sql", ".go") or path.name.endswith("_test.go"):
            scan.skip(path, "not a goose migration file")
            continue
        if not match:
            if path.suffix == ".sql":
                scan.problems.append(
                    f"{scan.rel(path)}: no version in the name (goose needs "
                    "<version>_<name>.sql and refuses this file too)"
                )
            else:
                scan.skip(path, "Go code without a version; goose does not run it as a migration")
            continue
        if match.group(3) == "go":
            scan.unsupported(
                path,
                "a goose Go migration; only SQL can be imported: rewrite it as "
                "an SQL file with the same version in a copy of the folder and import "
                "the copy",
            )
            continue
        if source := one_file_source(scan, path, match, _sections):
            found.append(source)
    return found


def _sections(text: str, source: Source, scan: Scan) -> str:
    sections: dict[str, list[str]] = {"": [], "up": [], "down": []}
    current = ""
    seen: set[str] = set()
    for lineno, line in enumerate(text.split("\n"), start=1):
        match = _ANNOTATION.match(line)
        if not match:
            sections[current].append(line)
            continue
        word = " ".join(match.group(1).lower().split())
        if word in ("up", "down") and (word in seen or (word == "up" and "down" in seen)):
            return f"line {lineno}: a second or misplaced `{line.strip()}`"
        if word not in _WORDS:
            return f"line {lineno}: unknown goose annotation `{line.strip()}`"
        seen.add(word)
        current = word if word in ("up", "down") else current
    if "up" not in seen:
        return "no `-- +goose Up` annotation; goose requires one"
    if has_sql("\n".join(sections[""])):
        return "SQL before `-- +goose Up`; goose refuses such a file too"
    source.up = "\n".join(sections[""] + sections["up"])
    if "down" in seen:
        source.down = "\n".join(sections["down"])
    else:
        source.notes.append("the goose file has no `-- +goose Down` section")
    source.up_no_tx = source.down_no_tx = "no transaction" in seen
    if "envsub on" in seen:
        scan.warnings.append(
            f"{source.files[0]}: goose substituted ${{VAR}} from the environment "
            "here (ENVSUB ON); migrator runs the text as written: put the values "
            "in the file"
        )
    if "statementbegin" in seen:
        source.notes.append(
            "dropped goose StatementBegin/StatementEnd lines: migrator's lexer keeps "
            "$$ bodies and BEGIN ... END routine bodies whole; check the split with "
            "`migrator up --dry-run`"
        )
    return ""
