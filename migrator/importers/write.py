"""The destination of `migrator import`: a new or empty folder, written all or nothing."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from migrator.errors import UsageError
from migrator.importers.convert import ImportedMigration, ImportedSide


def check_dest(dest: Path) -> None:
    if dest.exists() and not dest.is_dir():
        raise UsageError(
            f"import: destination {dest} is a file, not a folder", hint="choose a new folder with --dir"
        )
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
            "folder away first",
        )


def write(dest: Path, migrations: list[ImportedMigration], sides: Sequence[ImportedSide] = ()) -> None:
    """Write into a hidden staging folder inside `dest`, then move each version folder (and
    repeatable/, callbacks/) into place: a failure part-way leaves none of them behind."""
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".migrator-import-", dir=dest))
    folders = [m.folder for m in migrations] + sorted({s.file.split("/", 1)[0] for s in sides})
    try:
        for m in migrations:
            folder = staging / m.folder
            folder.mkdir()
            (folder / "up.sql").write_text(m.up, encoding="utf-8", newline="\n")
            (folder / "down.sql").write_text(m.down, encoding="utf-8", newline="\n")
        for s in sides:
            (staging / s.file).parent.mkdir(exist_ok=True)
            (staging / s.file).write_text(s.text, encoding="utf-8", newline="\n")
        for name in folders:
            (staging / name).rename(dest / name)
    except OSError:
        for name in folders:
            shutil.rmtree(dest / name, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
