"""`migrator import`: a dbmate, golang-migrate, flyway or goose folder -> version folders (SPEC §1).

Reads the foreign folder (filesystem only), keeps every version number (flyway's dotted
versions are mapped to integers in the same order), and turns each migration into
`<version>_<slug>/up.sql` and `down.sql`. The rule throughout: import what the foreign tool
would run, refuse what it would refuse, and never drop SQL quietly. Nothing is written until
every file was read and converted without a problem.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrator.directives import parse_directives
from migrator.errors import LayoutError, UsageError
from migrator.lexer import LexError, leading_keywords, split_statements
from migrator.model import DIALECTS

FORMATS = ("dbmate", "golang-migrate", "flyway", "goose")
_MAX_VERSION = 2**63 - 1
_NO_TX = "-- migrator: no-transaction\n"
# Transaction control a file may not hold when migrator runs it in its own transaction.
_TX_CONTROL = (("BEGIN",), ("START", "TRANSACTION"), ("COMMIT",), ("ROLLBACK",), ("END",))
_WRAP_OPEN = re.compile(r"^\s*(BEGIN|BEGIN\s+TRANSACTION|BEGIN\s+WORK|START\s+TRANSACTION)\s*;\s*$",
                        re.IGNORECASE)
_WRAP_CLOSE = re.compile(r"^\s*(COMMIT|COMMIT\s+TRANSACTION|COMMIT\s+WORK|END)\s*;\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ImportedMigration:
    version: int
    source_version: str  # as the foreign tool writes it: "20230101120000", "1.1"
    folder: str
    sources: tuple[str, ...]  # foreign files, relative to the source folder
    up: str
    down: str
    no_transaction: tuple[str, ...]  # "up.sql" / "down.sql" marked `no-transaction`
    irreversible: bool
    notes: tuple[str, ...]

    def to_dict(self, with_text: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": self.version, "source_version": self.source_version, "folder": self.folder,
            "sources": list(self.sources), "no_transaction": list(self.no_transaction),
            "irreversible": self.irreversible, "notes": list(self.notes),
        }
        if with_text:
            data["up_sql"], data["down_sql"] = self.up, self.down
        return data


@dataclass(frozen=True)
class Skipped:
    file: str  # relative to the source folder
    reason: str
    unsupported: bool  # SQL the foreign tool ran that was not imported: someone must act


@dataclass
class ImportResult:
    source_format: str
    source: Path
    dir: Path
    dry_run: bool
    migrations: list[ImportedMigration]
    skipped: list[Skipped]
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run, "from": self.source_format, "source": str(self.source),
            "dir": str(self.dir),
            "migrations": [m.to_dict(with_text=self.dry_run) for m in self.migrations],
            "skipped": [{"file": s.file, "reason": s.reason, "unsupported": s.unsupported}
                        for s in self.skipped],
            "warnings": self.warnings,
        }


def import_folder(source_format: str, source: Path, dest: Path, *, dry_run: bool = False,
                  skip_unsupported: bool = False) -> ImportResult:
    """Read `source` as `source_format` and write the version folders into `dest`."""
    if source_format not in _READERS:
        raise UsageError(f"import: unknown format {source_format!r}",
                         hint=f"--from takes one of: {', '.join(FORMATS)}")
    _check_source(source)
    _check_dest(dest)
    scan = _Scan(source, skip_unsupported)
    found = _READERS[source_format](scan)
    scan.check_versions(found)
    scan.raise_problems()
    width = max([4] + [len(s.digits) for s in found] + [len(str(s.version)) for s in found])
    migrations = [_convert(s, f"{s.version:0{width}d}_{_slug(s.name)}", source_format)
                  for s in sorted(found, key=lambda s: s.version)]
    scan.problems += [p for m in migrations for p in _directive_problems(m)]
    scan.raise_problems()
    if not migrations:
        raise UsageError(f"import: no {source_format} migrations found in {source}",
                         hint=_NAMING[source_format])
    if not dry_run:
        try:
            _write(dest, migrations)
        except OSError as exc:
            raise UsageError(f"import: cannot write {dest}: {exc}; nothing was written",
                             hint="check the destination folder's permissions") from None
    return ImportResult(source_format, source, dest, dry_run, migrations, scan.skipped, scan.warnings)


_NAMING = {
    "dbmate": "dbmate files are named <version>_<name>.sql, e.g. db/migrations/20230101120000_users.sql",
    "golang-migrate": "golang-migrate files are named <version>_<name>.up.sql / .down.sql",
    "flyway": "flyway files are named V<version>__<description>.sql (U... for undo)",
    "goose": "goose files are named <version>_<name>.sql with -- +goose Up / Down",
}


# -- source and destination ---------------------------------------------------------------------
def _check_source(source: Path) -> None:
    if not source.is_dir():
        what = "does not exist" if not source.exists() else "is not a folder"
        raise UsageError(f"import: source folder {source} {what}",
                         hint="pass the folder that holds the migration files")
    try:
        next(source.iterdir(), None)
    except OSError as exc:
        raise UsageError(f"import: cannot read source folder {source}: {exc.strerror}",
                         hint="check the folder's permissions") from None


def _check_dest(dest: Path) -> None:
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"import: destination {dest} is a file, not a folder",
                         hint="choose a new folder with --dir")
    try:
        entries = list(dest.iterdir()) if dest.is_dir() else []
    except OSError as exc:
        raise UsageError(f"import: cannot read destination {dest}: {exc.strerror}") from None
    present = sorted(p.name for p in entries if not p.name.startswith("."))
    if present:
        shown = ", ".join(present[:5]) + (", ..." if len(present) > 5 else "")
        raise UsageError(
            f"import: destination {dest} is not empty ({shown}); import writes a new migrations "
            "folder and never merges into or overwrites an existing one; nothing was written",
            hint="import into a new or empty folder with --dir NEW_DIR, or move the existing "
                 "folder away first")


class _Scan:
    """The source folder being read, with every problem, skipped file and warning found."""

    def __init__(self, root: Path, skip_unsupported: bool) -> None:
        self.root = root
        self.skip_unsupported = skip_unsupported
        self.problems: list[str] = []
        self.skipped: list[Skipped] = []
        self.warnings: list[str] = []

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def files(self, recursive: bool = False) -> list[Path]:
        """Visible files, sorted by path. Sub-folders are read only when the tool reads them."""
        out = []
        for path in sorted(self.root.rglob("*") if recursive else self.root.iterdir()):
            if any(part.startswith(".") for part in path.relative_to(self.root).parts):
                continue
            if path.is_file():
                out.append(path)
            elif not recursive:
                self.skip(path, "a sub-folder; the tool does not read sub-folders either")
        return out

    def text(self, path: Path, encoding: str = "utf-8") -> str | None:
        """The file's text with LF line ends and no BOM, or None after recording why not."""
        try:
            raw = path.read_bytes()
        except OSError as exc:
            self.problems.append(f"{self.rel(path)}: cannot read it: {exc.strerror}")
            return None
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            self.problems.append(f"{self.rel(path)}: invalid {encoding} at byte offset {exc.start}; "
                                 "save the file as UTF-8")
            return None
        except LookupError:
            self.problems.append(f"{self.rel(path)}: unknown encoding {encoding!r}")
            return None
        return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")

    def skip(self, path: Path, why: str, *, unsupported: bool = False) -> None:
        self.skipped.append(Skipped(self.rel(path), why, unsupported))

    def unsupported(self, path: Path, why: str) -> None:
        if self.skip_unsupported:
            self.skip(path, why, unsupported=True)
        else:
            self.problems.append(f"{self.rel(path)}: {why}; migrator cannot import it "
                                 "(--skip-unsupported imports the rest and lists it as skipped)")

    def check_versions(self, found: list[_Source]) -> None:
        seen: dict[int, _Source] = {}
        for s in found:
            if s.version > _MAX_VERSION:
                self.problems.append(f"{s.files[0]}: version {s.version} is above 2^63-1")
            elif s.version == 0:
                self.problems.append(f"{s.files[0]}: version 0 cannot be imported (`down --to 0` "
                                     "means before every version); renumber it")
            elif s.version in seen:
                self.problems.append(f"{s.files[0]}: version {s.version} is also {seen[s.version].files[0]}; "
                                     "two migrations cannot share a version (renumber one)")
            else:
                seen[s.version] = s

    def raise_problems(self) -> None:
        if self.problems:
            error = LayoutError(self.problems)
            error.hint = "fix the source folder (or copy it and fix the copy); nothing was written"
            raise error


@dataclass
class _Source:
    """One migration as the foreign tool defines it."""

    version: int
    digits: str  # the version as written in the file name, for the folder name's width
    label: str  # the version as the tool shows it
    name: str
    files: list[str]
    up: str = ""
    down: str | None = None  # None: the tool has no down for it
    up_no_tx: bool = False
    down_no_tx: bool = False
    notes: list[str] = field(default_factory=list)


# -- dbmate -------------------------------------------------------------------------------------
_DBMATE_FILE = re.compile(r"^(\d+)[_-]?(.*)\.sql$")
_DBMATE_UP = re.compile(r"^--\s*migrate:up(?:\s+(.*))?$")
_DBMATE_DOWN = re.compile(r"^--\s*migrate:down(?:\s+(.*))?$")


def _one_file_source(scan: _Scan, path: Path, match: re.Match[str],
                     sections: Callable[[str, _Source, _Scan], str]) -> _Source | None:
    """A tool that keeps up and down in one file (dbmate, goose): version and name from the
    file name (`match` groups 1 and 2), the two sections from its text."""
    text = scan.text(path)
    if text is None:
        return None
    source = _Source(int(match.group(1)), match.group(1), str(int(match.group(1))),
                     match.group(2), [scan.rel(path)])
    problem = sections(text, source, scan)
    if problem:
        scan.problems.append(f"{scan.rel(path)}: {problem}")
        return None
    return source


def _read_dbmate(scan: _Scan) -> list[_Source]:
    found = []
    for path in scan.files():
        match = _DBMATE_FILE.match(path.name)
        if not match:
            scan.skip(path, "not named <version>_<name>.sql; dbmate ignores it too")
            continue
        if source := _one_file_source(scan, path, match, _dbmate_sections):
            found.append(source)
    by_name = [s.files[0] for s in found]
    by_version = [s.files[0] for s in sorted(found, key=lambda s: s.version)]
    if by_name != by_version:
        first = next(i for i, (a, b) in enumerate(zip(by_name, by_version, strict=True)) if a != b)
        scan.problems.append(
            f"dbmate applies files in name order, which runs {by_name[first]} before "
            f"{by_version[first]}, but migrator runs versions in numeric order; give the versions "
            "the same number of digits (pad with zeros) so both orders agree")
    return found


def _dbmate_sections(text: str, source: _Source, scan: _Scan) -> str:
    lines = text.split("\n")
    up = next((i for i, line in enumerate(lines) if _DBMATE_UP.match(line.rstrip())), None)
    down = next((i for i, line in enumerate(lines) if _DBMATE_DOWN.match(line.rstrip())), None)
    if up is None:
        return "no `-- migrate:up` line; dbmate requires one"
    start = up if down is None else min(up, down)
    if _has_sql("\n".join(lines[:start])):
        return "SQL before `-- migrate:up`; dbmate refuses such a file too"
    up_end = down if down is not None and down > up else len(lines)
    source.up = "\n".join(lines[:start] + lines[up + 1: up_end])
    source.up_no_tx = _dbmate_no_tx(_DBMATE_UP, lines[up], source, scan)
    if down is None:
        source.notes.append("the dbmate file has no `-- migrate:down` section")
    else:
        source.down = "\n".join(lines[down + 1: up if up > down else len(lines)])
        source.down_no_tx = _dbmate_no_tx(_DBMATE_DOWN, lines[down], source, scan)
    return ""


def _dbmate_no_tx(marker: re.Pattern[str], line: str, source: _Source, scan: _Scan) -> bool:
    """`-- migrate:up transaction:false` -> True. Options are `key:value` words."""
    match = marker.match(line.rstrip())
    assert match
    no_tx = False
    for option in (match.group(1) or "").split():
        key, _, value = option.partition(":")
        if key == "transaction" and value == "false":
            no_tx = True
        elif key != "transaction":
            scan.warnings.append(f"{source.files[0]}: dbmate option {option!r} has no migrator "
                                 "equivalent and was ignored")
    return no_tx


# -- golang-migrate -----------------------------------------------------------------------------
_GOLANG_FILE = re.compile(r"^(\d+)_(.*)\.(up|down)\.([^.]+)$")


def _read_golang_migrate(scan: _Scan) -> list[_Source]:
    files: dict[tuple[int, str], Path] = {}  # (version, "up"/"down") -> file
    for path in scan.files():
        match = _GOLANG_FILE.match(path.name)
        if not match or match.group(4) != "sql":
            scan.skip(path, "not a .sql file" if match else
                      "not named <version>_<name>.up.sql or .down.sql; golang-migrate ignores it too")
            continue
        key = (int(match.group(1)), match.group(3))
        if key in files:
            scan.problems.append(f"{scan.rel(path)}: a second {key[1]} file for version {key[0]} "
                                 f"(also {scan.rel(files[key])}); two migrations cannot share a "
                                 "version (renumber one)")
        else:
            files[key] = path
    found = []
    for (version, direction), path in sorted(files.items()):
        if direction == "down":
            if (version, "up") not in files:
                scan.problems.append(f"{scan.rel(path)}: a down file without an up file for "
                                     f"version {version}; add the up file or remove this one")
            continue
        match = _GOLANG_FILE.match(path.name)
        assert match
        source = _Source(version, match.group(1), str(version), match.group(2), [scan.rel(path)],
                         up=scan.text(path) or "")
        down = files.get((version, "down"))
        if down is None:
            source.notes.append("golang-migrate had no down file for it")
        else:
            source.files.append(scan.rel(down))
            source.down = scan.text(down) or ""
        found.append(source)
    return found


# -- flyway -------------------------------------------------------------------------------------
_FLYWAY_FILE = re.compile(r"^([VU])(\d[\d._]*?)__(.*)\.sql$")
_FLYWAY_REPEATABLE = re.compile(r"^R__(.*)\.sql$")
_FLYWAY_BASELINE = re.compile(r"^B(\d[\d._]*?)__(.*)\.sql$")
_FLYWAY_CALLBACK = re.compile(r"^(before|after)[A-Za-z]*(__.*)?\.sql$")
_FLYWAY_LOOKALIKE = re.compile(r"^[VUR]\d.*\.sql$", re.IGNORECASE)


def _read_flyway(scan: _Scan) -> list[_Source]:
    files = scan.files(recursive=True)  # flyway reads sub-folders of its locations too
    configs = {p.with_name(p.name.removesuffix(".conf")): p for p in files if p.name.endswith(".sql.conf")}
    named: dict[tuple[str, tuple[int, ...]], tuple[Path, str, str]] = {}  # (V|U, version) -> file
    for path in files:
        if path.name.endswith(".sql.conf"):
            if path.with_name(path.name.removesuffix(".conf")) not in files:
                scan.skip(path, "a script configuration without its script")
            continue
        kind = _flyway_kind(path, scan)
        if kind is None:
            continue
        prefix, label, name = kind
        parts = _flyway_parts(label)
        if parts is None:
            scan.problems.append(f"{scan.rel(path)}: cannot read flyway version {label!r}")
        elif (prefix, parts) in named:
            scan.problems.append(f"{scan.rel(path)}: flyway version {label.replace('_', '.')} is also "
                                 f"{scan.rel(named[prefix, parts][0])}; flyway refuses that too")
        else:
            named[prefix, parts] = (path, label, name)
    versioned: dict[tuple[int, ...], _Source] = {}
    for (prefix, parts), (path, label, name) in named.items():
        if prefix == "U":
            if ("V", parts) not in named:
                scan.problems.append(f"{scan.rel(path)}: an undo migration without its versioned "
                                     "migration (V...); add it or remove the undo file")
            continue
        source = _Source(0, label, label.replace("_", "."), name, [scan.rel(path)])
        source.up, source.up_no_tx = _flyway_script(path, configs.get(path), scan)
        undo = named.get(("U", parts))
        if undo is None:
            source.notes.append("flyway had no undo (U) migration for it")
        else:
            source.files.append(scan.rel(undo[0]))
            source.down, source.down_no_tx = _flyway_script(undo[0], configs.get(undo[0]), scan)
        versioned[parts] = source
    return list(versioned.values()) if _assign_flyway_versions(versioned, scan) else []


def _flyway_script(path: Path, conf_path: Path | None, scan: _Scan) -> tuple[str, bool]:
    """The script's text and whether its `.sql.conf` says executeInTransaction=false."""
    conf = _flyway_conf(conf_path, scan)
    text = scan.text(path, conf.get("encoding", "utf-8")) or ""
    found = sorted(set(_PLACEHOLDER.findall(text)))
    if found:
        scan.warnings.append(f"{scan.rel(path)}: flyway replaced placeholders here ({', '.join(found)}); "
                             "migrator runs the text as written: put the values in the file")
    return text, conf.get("executeInTransaction", "").lower() == "false"


def _flyway_kind(path: Path, scan: _Scan) -> tuple[str, str, str] | None:
    name = path.name
    match = _FLYWAY_FILE.match(name)
    if match:
        return match.group(1), match.group(2), match.group(3)
    if _FLYWAY_REPEATABLE.match(name):
        scan.unsupported(path, "a flyway repeatable migration (R__); migrator has no repeatable "
                         "migrations: add its SQL (CREATE OR REPLACE ...) as a new version, and a "
                         "new version each time it changes")
    elif _FLYWAY_BASELINE.match(name):
        scan.unsupported(path, "a flyway baseline migration (B...); the versioned migrations it "
                         "stands for are imported instead")
    elif _FLYWAY_CALLBACK.match(name):
        scan.unsupported(path, "a flyway callback; migrator has no callbacks: move its SQL into a "
                         "migration or into the deploy script")
    elif not name.endswith(".sql"):
        scan.skip(path, "not a .sql file")
    elif _FLYWAY_LOOKALIKE.match(name):
        scan.skip(path, "looks like a migration, but flyway ignores this name (it needs "
                  "V<version>__<description>.sql, two underscores)", unsupported=True)
    else:
        scan.skip(path, "not a flyway migration name; flyway ignores it too")
    return None


def _flyway_parts(label: str) -> tuple[int, ...] | None:
    pieces = re.split(r"[._]", label)
    if not all(p.isdigit() for p in pieces):
        return None
    parts = [int(p) for p in pieces]
    while len(parts) > 1 and parts[-1] == 0:  # flyway: 1.0 is version 1
        parts.pop()
    return tuple(parts)


def flyway_version_map(versions: list[tuple[int, ...]]) -> dict[tuple[int, ...], int]:
    """Flyway versions (1, 1.1, 1.2, 2) -> integers in the same order.

    Single-part versions keep their number. Otherwise each part after the first gets a fixed
    number of digits, the most that part has anywhere: 1 -> 10, 1.1 -> 11, 1.2 -> 12, 2 -> 20
    (with 1.10 present: 1.1 -> 101, 1.10 -> 110). Raises ValueError when a version would not
    fit in a bigint."""
    depth = max((len(v) for v in versions), default=1)
    widths = [max(len(str(v[i])) if i < len(v) else 1 for v in versions) for i in range(1, depth)]
    mapped = {}
    for v in versions:
        padded = list(v) + [0] * (depth - len(v))
        digits = str(padded[0]) + "".join(f"{p:0{w}d}" for p, w in zip(padded[1:], widths, strict=True))
        mapped[v] = int(digits)
        if mapped[v] > _MAX_VERSION:
            shown = ".".join(map(str, v))
            raise ValueError(f"flyway version {shown} maps to {digits}, above 2^63-1; migrator "
                             "versions are integers, so these versions cannot keep their order")
    return mapped


def _assign_flyway_versions(versioned: dict[tuple[int, ...], _Source], scan: _Scan) -> bool:
    try:
        mapped = flyway_version_map(list(versioned))
    except ValueError as exc:
        scan.problems.append(str(exc))
        return False
    renumbered = any(len(parts) > 1 for parts in versioned)
    for parts, source in versioned.items():
        source.version = mapped[parts]
        if renumbered:
            source.digits = ""  # the folder name shows the new number, not flyway's digits
            source.notes.append(f"flyway version {source.label} is migrator version {mapped[parts]}")
    return True


def _flyway_conf(path: Path | None, scan: _Scan) -> dict[str, str]:
    if path is None:
        return {}
    text = scan.text(path) or ""
    conf = {}
    for line in text.split("\n"):
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            conf[key.strip()] = value.strip()
    for key in sorted(set(conf) - {"executeInTransaction", "encoding"}):
        scan.warnings.append(f"{scan.rel(path)}: flyway setting {key!r} has no migrator "
                             "equivalent and was ignored")
    return conf


_PLACEHOLDER = re.compile(r"\$\{[^}\n]+\}")


# -- goose --------------------------------------------------------------------------------------
_GOOSE_FILE = re.compile(r"^(\d+)_(.*)\.(sql|go)$")
_GOOSE_ANNOTATION = re.compile(r"^--\s*\+goose\s+(.*?)\s*$", re.IGNORECASE)


def _read_goose(scan: _Scan) -> list[_Source]:
    found = []
    for path in scan.files():
        match = _GOOSE_FILE.match(path.name)
        if path.suffix not in (".sql", ".go") or path.name.endswith("_test.go"):
            scan.skip(path, "not a goose migration file")
            continue
        if not match:
            if path.suffix == ".sql":
                scan.problems.append(f"{scan.rel(path)}: no version in the name (goose needs "
                                     "<version>_<name>.sql and refuses this file too)")
            else:
                scan.skip(path, "Go code without a version; goose does not run it as a migration")
            continue
        if match.group(3) == "go":
            scan.unsupported(path, "a goose Go migration; only SQL can be imported: rewrite it as "
                             "an SQL file with the same version in a copy of the folder and import "
                             "the copy")
            continue
        if source := _one_file_source(scan, path, match, _goose_sections):
            found.append(source)
    return found


def _goose_sections(text: str, source: _Source, scan: _Scan) -> str:
    sections: dict[str, list[str]] = {"": [], "up": [], "down": []}
    current = ""
    seen: set[str] = set()
    for lineno, line in enumerate(text.split("\n"), start=1):
        match = _GOOSE_ANNOTATION.match(line)
        if not match:
            sections[current].append(line)
            continue
        word = " ".join(match.group(1).lower().split())
        if word in ("up", "down") and (word in seen or (word == "up" and "down" in seen)):
            return f"line {lineno}: a second or misplaced `{line.strip()}`"
        if word not in _GOOSE_WORDS:
            return f"line {lineno}: unknown goose annotation `{line.strip()}`"
        seen.add(word)
        current = word if word in ("up", "down") else current
    if "up" not in seen:
        return "no `-- +goose Up` annotation; goose requires one"
    if _has_sql("\n".join(sections[""])):
        return "SQL before `-- +goose Up`; goose refuses such a file too"
    source.up = "\n".join(sections[""] + sections["up"])
    if "down" in seen:
        source.down = "\n".join(sections["down"])
    else:
        source.notes.append("the goose file has no `-- +goose Down` section")
    source.up_no_tx = source.down_no_tx = "no transaction" in seen
    if "envsub on" in seen:
        scan.warnings.append(f"{source.files[0]}: goose substituted ${{VAR}} from the environment "
                             "here (ENVSUB ON); migrator runs the text as written: put the values "
                             "in the file")
    if "statementbegin" in seen:
        source.notes.append("dropped goose StatementBegin/StatementEnd lines: migrator's lexer keeps "
                            "$$ bodies and BEGIN ... END routine bodies whole; check the split with "
                            "`migrator up --dry-run`")
    return ""


_GOOSE_WORDS = ("up", "down", "statementbegin", "statementend", "no transaction", "envsub on",
                "envsub off")


_READERS = {
    "dbmate": _read_dbmate,
    "golang-migrate": _read_golang_migrate,
    "flyway": _read_flyway,
    "goose": _read_goose,
}


# -- conversion -----------------------------------------------------------------------------------
def _convert(s: _Source, folder: str, source_format: str) -> ImportedMigration:
    notes = list(s.notes)
    if not _has_sql(s.up):
        notes.append("up.sql holds no SQL")
    up, up_no_tx = _sql_file(s.up, s.up_no_tx, "up.sql", notes)
    no_tx = ["up.sql"] if up_no_tx else []
    irreversible = s.down is None or not _has_sql(s.down)
    if irreversible:
        why = "it had no down migration" if s.down is None else "its down migration held no SQL"
        notes.append(f"down.sql is marked `-- migrator: irreversible`: {why}")
        down = _irreversible(s.down or "", source_format, why)
    else:
        down, down_no_tx = _sql_file(s.down or "", s.down_no_tx, "down.sql", notes)
        no_tx += ["down.sql"] if down_no_tx else []
    return ImportedMigration(s.version, s.label, folder, tuple(s.files), up, down, tuple(no_tx),
                             irreversible, tuple(notes))


def _sql_file(body: str, no_tx: bool, name: str, notes: list[str]) -> tuple[str, bool]:
    body = _trim_blank_lines(body)
    if not no_tx:
        unwrapped, removed = _unwrap(body)
        if removed and not any(kind == "control" for kind, _ in _agreed_findings(unwrapped)):
            body = unwrapped
            notes.append(f"{name}: commented out the file's own {removed}: migrator runs each "
                         "file in one transaction")
        reason = "; ".join(sorted(what for _, what in _agreed_findings(body)))
        if reason:
            no_tx = True
            notes.append(f"{name}: marked `-- migrator: no-transaction`: {reason}")
    return (_NO_TX if no_tx else "") + body + "\n", no_tx


def _irreversible(body: str, source_format: str, why: str) -> str:
    kept = _trim_blank_lines(body)
    return ("-- migrator: irreversible\n"
            f"-- Imported from {source_format}: {why}. To make this version reversible, write the\n"
            "-- SQL that undoes up.sql here and remove the directive above.\n"
            + (kept + "\n" if kept else ""))


def _unwrap(body: str) -> tuple[str, str]:
    """Comment out a BEGIN; ... COMMIT; pair around the whole file (golang-migrate habit)."""
    lines = body.split("\n")
    code = [i for i, line in enumerate(lines) if line.strip() and not line.strip().startswith("--")]
    if len(code) < 2 or not _WRAP_OPEN.match(lines[code[0]]) or not _WRAP_CLOSE.match(lines[code[-1]]):
        return body, ""
    pair = f"{lines[code[0]].strip()} ... {lines[code[-1]].strip()}"
    for i in (code[0], code[-1]):
        lines[i] = f"-- {lines[i].strip()}  (removed on import)"
    return "\n".join(lines), pair


def _agreed_findings(body: str) -> set[tuple[str, str]]:
    """Why this text cannot run inside migrator's transaction: ("control", why) for its own
    transaction control, ("refused", why) for a statement a database refuses in one. The
    source's database is unknown, so the text is split by every dialect's rules and only what
    all of the splits agree on counts (a rule one dialect lacks, such as $$ bodies, must not
    invent a problem)."""
    refused = _refused_in_transaction()
    agreed: set[tuple[str, str]] | None = None
    for dialect in DIALECTS:
        try:
            statements = split_statements(body, dialect)
        except LexError:
            continue
        found = set()
        for statement in statements:
            words = leading_keywords(statement.text, 4)
            for pattern in _TX_CONTROL:
                if words[: len(pattern)] == pattern and words[1:2] != ("ATOMIC",):
                    found.add(("control", f"the file manages its own transactions ({' '.join(pattern)})"))
            found.update(("refused", f"{' '.join(p)} cannot run inside a transaction")
                         for p in refused if words[: len(p)] == p)
        agreed = found if agreed is None else agreed & found
    return agreed or set()


def _refused_in_transaction() -> set[tuple[str, ...]]:
    """What any dialect refuses inside a transaction, as the dialects declare it."""
    from migrator.dialects.mysql import MysqlDialect
    from migrator.dialects.postgres import PostgresDialect
    from migrator.dialects.sqlite import SqliteDialect

    return {p for cls in (SqliteDialect, PostgresDialect, MysqlDialect) for p in cls.refused_in_transaction}


def _directive_problems(m: ImportedMigration) -> list[str]:
    problems = []
    for name, text in (("up.sql", m.up), ("down.sql", m.down)):
        problems += parse_directives(text, name, f"{m.folder}/{name} (from {m.sources[0]})")[1]
    return problems


def _has_sql(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.split("\n"))


def _trim_blank_lines(text: str) -> str:
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _slug(name: str) -> str:
    """The `migrator new` rule (lower-case letters and digits joined by `_`), accents folded."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_") or "migration"


# -- writing --------------------------------------------------------------------------------------
def _write(dest: Path, migrations: list[ImportedMigration]) -> None:
    """Write into a hidden staging folder inside `dest`, then move each version folder into
    place: a failure part-way leaves no version folder behind."""
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".migrator-import-", dir=dest))
    try:
        for m in migrations:
            folder = staging / m.folder
            folder.mkdir()
            (folder / "up.sql").write_text(m.up, encoding="utf-8", newline="\n")
            (folder / "down.sql").write_text(m.down, encoding="utf-8", newline="\n")
        for m in migrations:
            (staging / m.folder).rename(dest / m.folder)
    except OSError:
        for m in migrations:
            shutil.rmtree(dest / m.folder, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
