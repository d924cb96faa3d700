"""Reading a foreign migrations folder: the files, their text, and every problem, skipped file
and warning found on the way (filesystem only). Each format's module turns what it reads into
`Source`s; nothing here knows any format."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from migrator.errors import LayoutError, UsageError

MAX_VERSION = 2**63 - 1


@dataclass(frozen=True)
class Skipped:
    file: str  # relative to the source folder
    reason: str
    unsupported: bool  # SQL the foreign tool ran that was not imported: someone must act


@dataclass
class Source:
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


@dataclass
class SideSource:
    """SQL that is no version: a repeatable migration or a callback (SPEC §12), as the foreign
    tool defines it. Several foreign callbacks for one event become one file, in name order."""

    target: str  # "repeatable/<name>.sql" or "callbacks/<event>.sql", inside the migrations folder
    files: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    no_tx: bool = False


def check_source(source: Path) -> None:
    if not source.is_dir():
        what = "does not exist" if not source.exists() else "is not a folder"
        raise UsageError(
            f"import: source folder {source} {what}", hint="pass the folder that holds the migration files"
        )
    try:
        next(source.iterdir(), None)
    except OSError as exc:
        raise UsageError(
            f"import: cannot read source folder {source}: {exc.strerror}",
            hint="check the folder's permissions",
        ) from None


class Scan:
    """The source folder being read, with every problem, skipped file and warning found."""

    def __init__(self, root: Path, skip_unsupported: bool) -> None:
        self.root = root
        self.skip_unsupported = skip_unsupported
        self.problems: list[str] = []
        self.skipped: list[Skipped] = []
        self.warnings: list[str] = []
        self.sides: dict[str, SideSource] = {}  # target -> its source files

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
            self.problems.append(
                f"{self.rel(path)}: invalid {encoding} at byte offset {exc.start}; save the file as UTF-8"
            )
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
            self.problems.append(
                f"{self.rel(path)}: {why}; migrator cannot import it "
                "(--skip-unsupported imports the rest and lists it as skipped)"
            )

    def side(self, target: str, path: Path, text: str, no_tx: bool, *, merge: bool) -> None:
        """Import `path` as `target`; `merge`: several foreign files may share it (callbacks)."""
        found = self.sides.get(target)
        if found is not None and not merge:
            self.problems.append(
                f"{self.rel(path)}: its name gives {target}, as {found.files[0]} does; rename one"
            )
            return
        found = self.sides.setdefault(target, SideSource(target))
        found.files.append(self.rel(path))
        found.texts.append(text)
        found.no_tx = found.no_tx or no_tx

    def check_versions(self, found: list[Source]) -> None:
        seen: dict[int, Source] = {}
        for s in found:
            if s.version > MAX_VERSION:
                self.problems.append(f"{s.files[0]}: version {s.version} is above 2^63-1")
            elif s.version == 0:
                self.problems.append(
                    f"{s.files[0]}: version 0 cannot be imported (`down --to 0` "
                    "means before every version); renumber it"
                )
            elif s.version in seen:
                self.problems.append(
                    f"{s.files[0]}: version {s.version} is also {seen[s.version].files[0]}; "
                    "two migrations cannot share a version (renumber one)"
                )
            else:
                seen[s.version] = s

    def raise_problems(self) -> None:
        if self.problems:
            error = LayoutError(self.problems)
            error.hint = "fix the source folder (or copy it and fix the copy); nothing was written"
            raise error


def one_file_source(
    scan: Scan, path: Path, match: re.Match[str], sections: Callable[[str, Source, Scan], str]
) -> Source | None:
    """A tool that keeps up and down in one file (dbmate, goose): version and name from the
    file name (`match` groups 1 and 2), the two sections from its text."""
    text = scan.text(path)
    if text is None:
        return None
    source = Source(
        int(match.group(1)), match.group(1), str(int(match.group(1))), match.group(2), [scan.rel(path)]
    )
    problem = sections(text, source, scan)
    if problem:
        scan.problems.append(f"{scan.rel(path)}: {problem}")
        return None
    return source


def has_sql(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.split("\n"))
