"""`migrator import`: a dbmate, golang-migrate, flyway or goose folder -> version folders (SPEC §1).

Reads the foreign folder (filesystem only), keeps every version number (flyway's dotted
versions are mapped to integers in the same order), and turns each migration into
`<version>_<slug>/up.sql` and `down.sql`. The rule throughout: import what the foreign tool
would run, refuse what it would refuse, and never drop SQL quietly. Nothing is written until
every file was read and converted without a problem.

One module per format says how that tool names and splits its files (`read`) and how to name
them (`NAMING`); `scan` reads the folder, `convert` writes migrator's SQL, `write` the folders.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

from migrator.errors import UsageError
from migrator.importers.convert import (
    ImportedMigration,
    ImportedSide,
    convert_all,
    convert_sides,
    directive_problems,
    side_problems,
)
from migrator.importers.scan import Scan, Skipped, Source, check_source
from migrator.importers.write import check_dest, write

__all__ = ["FORMATS", "ImportResult", "ImportedMigration", "Skipped", "import_folder"]

# `--from` name -> its module, imported only when that format is asked for
_MODULES = {"dbmate": "dbmate", "golang-migrate": "golang_migrate", "flyway": "flyway", "goose": "goose"}
FORMATS = tuple(_MODULES)


class _Format(Protocol):
    NAMING: str  # the hint when a folder holds none of the tool's files

    @staticmethod
    def read(scan: Scan) -> list[Source]: ...


@dataclass
class ImportResult:
    source_format: str
    source: Path
    dir: Path
    dry_run: bool
    migrations: list[ImportedMigration]
    skipped: list[Skipped]
    warnings: list[str]
    sides: list[ImportedSide]  # repeatable migrations and callbacks (SPEC §12)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "from": self.source_format,
            "source": str(self.source),
            "dir": str(self.dir),
            "migrations": [m.to_dict(with_text=self.dry_run) for m in self.migrations],
            "side_files": [s.to_dict(with_text=self.dry_run) for s in self.sides],
            "skipped": [
                {"file": s.file, "reason": s.reason, "unsupported": s.unsupported} for s in self.skipped
            ],
            "warnings": self.warnings,
        }


def import_folder(
    source_format: str, source: Path, dest: Path, *, dry_run: bool = False, skip_unsupported: bool = False
) -> ImportResult:
    """Read `source` as `source_format` and write the version folders into `dest`."""
    if source_format not in _MODULES:
        raise UsageError(
            f"import: unknown format {source_format!r}", hint=f"--from takes one of: {', '.join(FORMATS)}"
        )
    fmt = cast(_Format, importlib.import_module(f"migrator.importers.{_MODULES[source_format]}"))
    check_source(source)
    check_dest(dest)
    scan = Scan(source, skip_unsupported)
    found = fmt.read(scan)
    scan.check_versions(found)
    scan.raise_problems()
    migrations = convert_all(found, source_format)
    sides = convert_sides(list(scan.sides.values()))
    scan.problems += [p for m in migrations for p in directive_problems(m)]
    scan.problems += [p for s in sides for p in side_problems(s)]
    scan.raise_problems()
    if not migrations:
        raise UsageError(f"import: no {source_format} migrations found in {source}", hint=fmt.NAMING)
    if not dry_run:
        try:
            write(dest, migrations, sides)
        except OSError as exc:
            raise UsageError(
                f"import: cannot write {dest}: {exc}; nothing was written",
                hint="check the destination folder's permissions",
            ) from None
    return ImportResult(source_format, source, dest, dry_run, migrations, scan.skipped, scan.warnings, sides)
