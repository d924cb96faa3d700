"""Version folders and dialect overrides -> migrations (SPEC §1). Filesystem only."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from migrator.checksum import checksum_text, text_sha
from migrator.directives import is_directive_line, late_directive_problem, parse_directives, parse_header
from migrator.errors import LayoutError
from migrator.filescan import CHUNK, scan_big_file
from migrator.model import CALLBACK_EVENTS, DIALECTS, Migration, Repeatable, SqlFile

_VERSION_FOLDER = re.compile(r"^([0-9]+)_(.+)$")  # ASCII digits only: \d takes any script's
_MAX_VERSION = 2**63 - 1
# Characters of small files' text a layout keeps from its one read (runs and stored texts need
# them again); past this, files are read again when needed, so memory stays bounded.
_KEPT_TEXT_BUDGET = 32 << 20
SUM_FILE = "migrator.sum"
FILES = ("up.sql", "down.sql")
_READ_ONLY = os.O_RDONLY | getattr(os, "O_BINARY", 0)  # O_BINARY: Windows, no newline translation
REPEATABLE_DIR = "repeatable"
CALLBACK_DIR = "callbacks"
# what parse_directives calls these files: the directives they may hold say so
REPEATABLE_KIND = "a repeatable file"
CALLBACK_KIND = "a callback file"


def is_allowed_root_file(name: str) -> bool:
    return name == SUM_FILE or name in {f"schema.{d}.txt" for d in DIALECTS}


@dataclass
class _Folder:
    version: int
    name: str
    files: dict[str, SqlFile]
    unreadable: frozenset[str] = frozenset()  # present but not valid UTF-8 or with a NUL byte
    # (reported already)


class Layout:
    """Every version folder, generic and per dialect, read and checked once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.shown = f"{root}/"  # the folder as --dir gave it: layout errors name it so
        self.problems: list[str] = []
        self.generic: dict[int, _Folder] = {}
        self.overrides: dict[str, dict[int, _Folder]] = {d: {} for d in DIALECTS}
        # scope ("" generic, or a dialect) -> name -> file (SPEC §12)
        self.repeatable: dict[str, dict[str, SqlFile]] = {d: {} for d in ("", *DIALECTS)}
        self.callback: dict[str, dict[str, SqlFile]] = {d: {} for d in ("", *DIALECTS)}
        self._text_budget = _KEPT_TEXT_BUDGET
        if not root.is_dir():
            self.problems.append(
                f"migrations folder {root} does not exist (use --dir, or `migrator init` to start one)"
            )
            return
        self.real_root = root.resolve()
        self._scan_root()
        self._check_overrides()

    def files(self) -> list[SqlFile]:
        """Every migration file of every dialect, sorted by relative path."""
        out = [f for folder in self.generic.values() for f in folder.files.values()]
        for by_version in self.overrides.values():
            out += [f for folder in by_version.values() for f in folder.files.values()]
        for by_name in (*self.repeatable.values(), *self.callback.values()):
            out += by_name.values()
        return sorted(out, key=lambda f: f.rel)

    def repeatables(self, dialect: str) -> list[Repeatable]:
        """Effective repeatable migrations for one dialect, in name order."""
        self.raise_problems()
        files = {**self.repeatable[""], **self.repeatable[dialect]}
        return [Repeatable(name, files[name]) for name in sorted(files)]

    def callbacks(self, dialect: str) -> dict[str, SqlFile]:
        """Effective callback files for one dialect, by event."""
        self.raise_problems()
        return {**self.callback[""], **self.callback[dialect]}

    def migrations(self, dialect: str) -> list[Migration]:
        """Effective migrations for one dialect, in ascending version order."""
        self.raise_problems()
        overrides = self.overrides[dialect]
        result = []
        for version in sorted(set(self.generic) | set(overrides)):
            generic, override = self.generic.get(version), overrides.get(version)
            folder = generic or override
            assert folder is not None
            files = {**(generic.files if generic else {}), **(override.files if override else {})}
            result.append(
                Migration(
                    version,
                    folder.name,
                    files["up.sql"],
                    files["down.sql"],
                    only_for=None if generic else dialect,
                )
            )
        return result

    def raise_problems(self) -> None:
        if self.problems:
            raise LayoutError(self.problems)

    def _entries(
        self, folder: Path | str, prefix: str, refused: set[str] | None = None
    ) -> list[os.DirEntry[str]]:
        """Visible entries, sorted by name; a symbolic link only when it resolves inside the
        migrations folder (SPEC §1): one that leaves it, dangles or loops is a layout error
        (its name goes into `refused`), and nothing is ever read through it."""
        kept = []
        for entry in _entries(folder):
            problem = entry.is_symlink() and self._link_problem(entry.path)
            if problem:
                self.problems.append(f"{prefix}{entry.name}: symbolic link {problem}")
                if refused is not None:
                    refused.add(entry.name)
            else:
                kept.append(entry)
        return kept

    def _link_problem(self, path: str) -> str:
        try:
            target = Path(path).resolve(strict=True)
        except FileNotFoundError:
            return f"dangles: its target {os.readlink(path)} does not exist; remove it or make it a file"
        except (OSError, RuntimeError):  # ELOOP: it leads back to itself
            return "loops (it leads back to itself); remove it or make it a file"
        if not target.is_relative_to(self.real_root):
            return (
                f"to {os.readlink(path)} leaves the migrations folder {self.shown}; a migration "
                "never reads a file outside it: copy the file in instead"
            )
        return ""

    def _scan_root(self) -> None:
        for entry in self._entries(self.root, self.shown):
            if entry.is_dir() and entry.name in DIALECTS:
                self._scan_versions(Path(entry.path), self.overrides[entry.name], f"{entry.name}/")
            elif entry.is_file() and is_allowed_root_file(entry.name):
                continue
            elif entry.is_dir() and entry.name in (REPEATABLE_DIR, CALLBACK_DIR):
                self._scan_side(Path(entry.path), entry.name, "")
            elif entry.is_dir() and _VERSION_FOLDER.match(entry.name):
                self._add_folder(entry, self.generic, "")
            else:
                self.problems.append(_stray(Path(entry.path), self.shown, root=True))

    def _scan_versions(self, folder: Path, into: dict[int, _Folder], prefix: str) -> None:
        for entry in self._entries(folder, prefix):
            if entry.is_dir() and _VERSION_FOLDER.match(entry.name):
                self._add_folder(entry, into, prefix)
            elif entry.is_dir() and entry.name in (REPEATABLE_DIR, CALLBACK_DIR):
                self._scan_side(Path(entry.path), entry.name, prefix.rstrip("/"))
            else:
                self.problems.append(_stray(Path(entry.path), prefix, holds=_DIALECT_FOLDER_HOLDS))

    def _scan_side(self, folder: Path, kind: str, scope: str) -> None:
        """`repeatable/` or `callbacks/` (generic, or under a dialect folder): `.sql` files only;
        a callback file is named after its event."""
        prefix = f"{scope}/{kind}/" if scope else f"{kind}/"
        into = (self.repeatable if kind == REPEATABLE_DIR else self.callback)[scope]
        for entry in self._entries(folder, prefix):
            name = entry.name.removesuffix(".sql")
            if not (entry.is_file() and entry.name.endswith(".sql") and name):
                self.problems.append(
                    f"{prefix}{entry.name}: unexpected {'folder' if entry.is_dir() else 'file'}; "
                    f"{kind}/ holds only .sql files"
                )
                continue
            if kind == CALLBACK_DIR and name not in CALLBACK_EVENTS:
                self.problems.append(
                    f"{prefix}{entry.name}: {name!r} is not a callback event; name the file after "
                    f"one of: {', '.join(CALLBACK_EVENTS)} (e.g. callbacks/after_up.sql)"
                )
                continue
            sql_file = self._read(
                entry.path, REPEATABLE_KIND if kind == REPEATABLE_DIR else CALLBACK_KIND, prefix + entry.name
            )
            if sql_file is not None:
                into[name] = sql_file

    def _add_folder(self, folder: os.DirEntry[str], into: dict[int, _Folder], prefix: str) -> None:
        # strings, not Path objects: 9,000 of those were a quarter of `status` over 3,000 versions
        match = _VERSION_FOLDER.match(folder.name)
        assert match
        version = int(match.group(1))
        rel = prefix + folder.name
        if version > _MAX_VERSION:
            self.problems.append(f"{rel}: version {version} is above 2^63-1")
            return
        if version == 0:
            self.problems.append(
                f"{rel}: version 0 is not allowed (`down --to 0` means before "
                "every version); versions start at 1, renumber it"
            )
            return
        if version in into:
            self.problems.append(
                f"{rel}: version {version} is also {prefix}{into[version].name}; "
                "two folders cannot share a version (renumber one)"
            )
            return
        files: dict[str, SqlFile] = {}
        unreadable: set[str] = set()  # a refused link counts as present: one problem is enough
        for entry in self._entries(folder.path, rel + "/", unreadable):
            if entry.is_file() and entry.name in FILES:
                sql_file = self._read(entry.path, entry.name, f"{rel}/{entry.name}")
                if sql_file:
                    files[entry.name] = sql_file
                else:
                    unreadable.add(entry.name)
            else:
                self.problems.append(_stray(Path(entry.path), rel + "/"))
        into[version] = _Folder(version, folder.name, files, frozenset(unreadable))

    def _read(self, path: str, name: str, rel: str) -> SqlFile | None:
        fd = os.open(path, _READ_ONLY)
        try:
            size = os.fstat(fd).st_size
            if size > CHUNK:  # a big file: streamed, never held whole
                with os.fdopen(fd, "rb", closefd=False) as fh:
                    return self._read_big(fh, fh.read(CHUNK), path, name, rel)
            raw = _read_to_end(fd, size)
        finally:
            os.close(fd)
        nul_at = raw.find(b"\0")  # valid UTF-8, yet no SQL text: postgres refuses it (SPEC §1)
        if nul_at != -1:
            self.problems.append(_nul_byte(rel, nul_at))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.problems.append(_invalid_utf8(rel, exc.start))
            return None
        if nul_at != -1:
            return None
        text = text.removeprefix("\ufeff")
        directives, problems = parse_directives(text, name, rel)
        self.problems += problems
        kept = text if len(text) <= self._text_budget else None
        if kept is not None:
            self._text_budget -= len(kept)
        return SqlFile(
            path,
            rel,
            checksum_text(text),
            directives,
            text_sha(text),
            directives.batch or _may_break_statement_rules(text),
            len(raw),
            kept,
        )

    def _read_big(self, fh: BinaryIO, first: bytes, path: str, name: str, rel: str) -> SqlFile | None:
        scan = scan_big_file(fh, first, _RULE_WORDS)
        if scan.nul_at is not None:
            self.problems.append(_nul_byte(rel, scan.nul_at))
        if scan.invalid_utf8_at is not None:
            self.problems.append(_invalid_utf8(rel, scan.invalid_utf8_at))
        if scan.nul_at is not None or scan.invalid_utf8_at is not None:
            return None
        directives, problems, header_end = parse_header(scan.head, name, rel)
        header_bytes = len(scan.head[:header_end].encode("utf-8"))
        late = [
            late_directive_problem(rel, number, line)
            for number, offset, line in scan.late_directive_lines
            if offset >= header_bytes and is_directive_line(line)
        ]
        problems += [p for p in late if p]
        self.problems += problems
        return SqlFile(
            path,
            rel,
            scan.checksum,
            directives,
            scan.text_sha,
            directives.batch or scan.may_break_rules,
            fh.tell(),
        )

    def _check_overrides(self) -> None:
        for dialect, by_version in self.overrides.items():
            for version, override in by_version.items():
                generic = self.generic.get(version)
                if generic and generic.name != override.name:
                    self.problems.append(
                        f"{dialect}/{override.name}: version {version} is {generic.name} in {self.shown}; "
                        f"an override folder must have the same name as its generic folder"
                    )
        versions = set(self.generic).union(*self.overrides.values())
        for version in sorted(versions):
            for name in FILES:
                self._check_present(version, name)

    def _check_present(self, version: int, name: str) -> None:
        """Every dialect the version exists for needs an effective `name`."""
        generic = self.generic.get(version)
        if generic is not None and (name in generic.files or name in generic.unreadable):
            return  # a generic file is there for every dialect
        lacking = []
        for dialect in DIALECTS:
            generic, override = self.generic.get(version), self.overrides[dialect].get(version)
            if not (generic or override):
                continue
            if not any(name in f.files or name in f.unreadable for f in (generic, override) if f):
                lacking.append(dialect)
        if lacking:
            folder = self.generic.get(version)
            where = folder.name if folder else next(f"{d}/{self.overrides[d][version].name}" for d in lacking)
            scope = (
                ""
                if folder is None or len(lacking) == len(DIALECTS)
                else f" (no effective {name} for {', '.join(lacking)})"
            )
            self.problems.append(f"{where}: missing {name}{scope}")


# The words the statement rules (statement_rules.file_problems: transaction control, statements no
# transaction can hold, COPY FROM STDIN, psql meta-commands, mysql and sqlite3 client commands)
# look for. A file with none of
# them is never lexed before running; this is decided here, while the text is in memory.
_RULE_WORDS = (
    "BEGIN",
    "START",
    "COMMIT",
    "ROLLBACK",
    "ABORT",
    "PREPARE",
    "END",
    "VACUUM",
    "CONCURRENTLY",
    "REINDEX",
    "DISCARD",
    "DATABASE",
    "PRAGMA",
    "SYSTEM",
    "TABLESPACE",
    "COPY",
    "DELIMITER",
    "SOURCE",  # the mysql client's `source file.sql`
)


def _may_break_statement_rules(text: str) -> bool:
    # plain substring searches: a case-insensitive regex takes seconds on a 30 MB data file
    upper = text.upper()
    # a backslash: psql meta-commands and mysql client commands; a line starting with ".": an
    # sqlite3 shell dot-command
    return "\\" in text or "\n." in text or text.startswith(".") or any(word in upper for word in _RULE_WORDS)


def _read_to_end(fd: int, size: int) -> bytes:
    """The whole file, `size` bytes as fstat said, or whatever it holds by now. Plain os.read:
    a Python file object costs twice as much per file, and 3,000 versions are 6,000 files."""
    raw = os.read(fd, size + 1)
    while more := os.read(fd, 1 << 16):  # a file that grew since fstat; EOF says we have it all
        raw += more
    return raw


def _invalid_utf8(rel: str, offset: int) -> str:
    return f"{rel}: invalid UTF-8 at byte offset {offset}; save the file as UTF-8"


def _nul_byte(rel: str, offset: int) -> str:
    return (
        f"{rel}: NUL byte at byte offset {offset}; a migration file is text (a file saved "
        "as UTF-16 is full of them: save it as UTF-8)"
    )


def _entries(folder: Path | str) -> list[os.DirEntry[str]]:
    """Visible entries, sorted by name. scandir knows file from folder without a stat call,
    which keeps `status` fast over thousands of versions."""
    with os.scandir(folder) as it:
        visible = [e for e in it if not e.name.startswith(".")]
    visible.sort(key=lambda e: e.name)
    return visible


_VERSION_FOLDER_HOLDS = "a version folder holds only up.sql and down.sql"
_DIALECT_FOLDER_HOLDS = (
    "a dialect folder holds only <digits>_<slug> version folders (overrides, or versions of "
    "that dialect alone), repeatable/ and callbacks/"
)


def _stray(entry: Path, prefix: str, *, root: bool = False, holds: str = _VERSION_FOLDER_HOLDS) -> str:
    kind = "folder" if entry.is_dir() else "file"
    if root:
        return (
            f"{prefix}{entry.name}: unexpected {kind}; {prefix} holds only <digits>_<slug> version "
            "folders, dialect folders (sqlite/, postgres/, mysql/), repeatable/, callbacks/, "
            "migrator.sum and schema.<dialect>.txt"
        )
    return f"{prefix}{entry.name}: unexpected {kind}; {holds}"
