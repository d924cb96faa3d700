"""`sql/migrator.sum`: one line per migration file, so CI can catch an edit with no database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.discovery import SUM_FILE, Layout
from migrator.errors import LayoutError


def render(layout: Layout) -> str:
    lines = [f"{f.checksum}  {f.rel}\n" for f in layout.files()]
    return "".join(lines)


def write(layout: Layout) -> Path:
    layout.raise_problems()
    path = layout.root / SUM_FILE
    path.write_text(render(layout), encoding="utf-8", newline="\n")
    return path


def add(layout: Layout, rels: list[str]) -> Path:
    """Add these files' lines and leave every other line as it is: `new` must not bless an
    edit to a shipped migration by rewriting its checksum."""
    path = layout.root / SUM_FILE
    entries = read(path) if path.is_file() else {}
    current = {f.rel: f.checksum for f in layout.files()}
    entries.update({rel: current[rel] for rel in rels})
    path.write_text(
        "".join(f"{c}  {r}\n" for r, c in sorted(entries.items())), encoding="utf-8", newline="\n"
    )
    return path


def read(path: Path) -> dict[str, str]:
    entries: dict[str, str] = {}
    for raw in _text(path).splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith(("<<<<<<<", "=======", ">>>>>>>")):
            continue
        checksum, _, rel = line.partition("  ")
        entries[rel.strip()] = checksum.strip()
    return entries


def _text(path: Path) -> str:
    """migrator.sum is written by `hash` as UTF-8; anything else was damaged on the way (an
    editor's encoding, a bad merge), and a checksum read from it could bless the wrong file."""
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = (
            f"{SUM_FILE}: invalid UTF-8 at byte offset {exc.start}; restore it from version "
            "control, or write it again with `migrator hash` once every migration file is as it shipped"
        )
    except OSError as exc:
        problem = f"{SUM_FILE}: cannot read it: {exc.strerror}"
    raise LayoutError([problem])


@dataclass(frozen=True)
class SumProblem:
    kind: str  # changed, removed, unlisted, no-sum-file
    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.kind}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "file": self.file, "message": self.message}


def compare(layout: Layout, dialect: str | None = None) -> list[SumProblem]:
    """Files against migrator.sum (SPEC §5 validate --offline). First, as for every layout
    error, a file that cannot be split into statements raises LayoutError (exit 2): split as
    `dialect` does, or with none given, unsplittable under every dialect it serves
    (lexcheck.check_layout)."""
    from migrator.lexcheck import check_layout

    layout.raise_problems()
    check_layout(layout, dialect)
    path = layout.root / SUM_FILE
    if not path.is_file():
        return [
            SumProblem(
                "no-sum-file",
                SUM_FILE,
                "there is no checksum file; create it with `migrator hash` and commit it",
            )
        ]
    listed = read(path)
    current = {f.rel: f.checksum for f in layout.files()}
    problems = []
    for rel, checksum in sorted(listed.items()):
        if rel not in current:
            problems.append(SumProblem("removed", rel, "listed in migrator.sum but the file is gone"))
        elif current[rel] != checksum:
            problems.append(
                SumProblem(
                    "changed",
                    rel,
                    "edited after it was hashed; restore it, or if this migration never shipped, "
                    "run `migrator hash` and commit migrator.sum",
                )
            )
    for rel in sorted(set(current) - set(listed)):
        problems.append(SumProblem("unlisted", rel, "not in migrator.sum; run `migrator hash` and commit it"))
    return problems
