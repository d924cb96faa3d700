"""`migrator new NAME`: the next version folder, numbered after every existing one."""

from __future__ import annotations

import re
from pathlib import Path

from migrator.discovery import REPEATABLE_DIR, SUM_FILE, Layout
from migrator.errors import UsageError
from migrator.model import Migration

UP_TEMPLATE = "-- {name}: write the change here, one statement per `;`.\n"
DOWN_TEMPLATE = "-- Undo {name}: leave the schema exactly as before up.sql ran.\n"
# the SQLite lock file beside the database (`<database>.migrator-lock`): no project wants it
# in version control, so `init` makes git ignore it
LOCK_PATTERN = "*.migrator-lock"
GITIGNORE_LINES = f"# migrator's lock file, beside a SQLite database\n{LOCK_PATTERN}\n"


def ignore_lock_files(root: Path) -> str | None:
    """Make root/.gitignore cover the lock file: "created" or "updated" it, or None when it
    already did. An existing .gitignore is only appended to."""
    path = root / ".gitignore"
    if not path.exists():
        path.write_text(GITIGNORE_LINES, encoding="utf-8")
        return "created"
    text = path.read_text(encoding="utf-8", errors="replace")
    patterns = {line.strip() for line in text.splitlines()}
    if patterns & {LOCK_PATTERN, f"/{LOCK_PATTERN}", f"**/{LOCK_PATTERN}"}:
        return None
    with path.open("a", encoding="utf-8") as f:
        f.write(("" if not text or text.endswith("\n") else "\n") + GITIGNORE_LINES)
    return "updated"


REPEATABLE_TEMPLATE = (
    "-- {name}: a repeatable migration. It runs after the versioned files of every `up` whose\n"
    "-- text changed since it last ran: re-create the object whole (CREATE OR REPLACE ...).\n"
)


def untouched_templates(migrations: list[Migration]) -> list[str]:
    """The pending up.sql files that are still the comment `new` / `init` wrote: running one
    would record the version as applied with nothing done, and writing the real change into
    it afterwards would then be drift."""
    from migrator.checksum import checksum_text

    return [
        m.up.rel
        for m in migrations
        if m.up.checksum == checksum_text(UP_TEMPLATE.format(name=m.name.split("_", 1)[-1]))
    ]


def _slug(name: str, what: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not slug:
        raise UsageError(
            f"new: {name!r} gives an empty {what}",
            hint="use letters and digits: migrator new add_users_table",
        )
    return slug


def new_repeatable(root: Path, name: str, dialect: str | None = None) -> Path:
    """`new --repeatable NAME`: sql/repeatable/NAME.sql (sql/<dialect>/repeatable/ with --dialect)."""
    slug = _slug(name, "file name")
    root.mkdir(parents=True, exist_ok=True)
    Layout(root).raise_problems()
    folder = (root / dialect if dialect else root) / REPEATABLE_DIR
    path = folder / f"{slug}.sql"
    if path.exists():
        raise UsageError(
            f"new --repeatable: {path} exists already; edit it in place (that is what a "
            "repeatable migration is for)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(REPEATABLE_TEMPLATE.format(name=slug), encoding="utf-8")
    if (root / SUM_FILE).is_file():
        from migrator.sumfile import add

        add(Layout(root), [path.relative_to(root).as_posix()])
    return path


def new_migration(root: Path, name: str, dialect: str | None = None) -> Path:
    slug = _slug(name, "folder name")
    root.mkdir(parents=True, exist_ok=True)
    layout = Layout(root)
    layout.raise_problems()
    listed = (root / SUM_FILE).is_file()
    if listed:
        from migrator.sumfile import read

        read(root / SUM_FILE)  # a damaged migrator.sum stops `new` before it creates anything
    folders = list(layout.generic.values())
    for by_version in layout.overrides.values():
        folders += by_version.values()
    width = max((len(f.name.split("_", 1)[0]) for f in folders), default=4)
    version = max((f.version for f in folders), default=0) + 1
    folder = (root / dialect if dialect else root) / f"{version:0{width}d}_{slug}"
    folder.mkdir(parents=True)
    (folder / "up.sql").write_text(UP_TEMPLATE.format(name=slug), encoding="utf-8")
    (folder / "down.sql").write_text(DOWN_TEMPLATE.format(name=slug), encoding="utf-8")
    if listed:
        from migrator.sumfile import add

        rel = folder.relative_to(root).as_posix()
        add(Layout(root), [f"{rel}/up.sql", f"{rel}/down.sql"])
    return folder
