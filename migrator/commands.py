"""One handler per CLI command: call the library, print the result, return the exit status."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from typing import TYPE_CHECKING, Any

from migrator.config import COMMAND_LINE_SETTINGS, load_settings
from migrator.errors import MigratorError, UsageError
from migrator.model import Migration
from migrator.report import safe_write
from migrator.report.tables import output_width, table_lines
from migrator.report.text import ask, emit_json, say, say_lines, say_prose, version_text, wrapped
from migrator.report.units import duration, plural

if TYPE_CHECKING:  # the library is imported when a command needs it: lint and hash do not
    from migrator.api import Migrator, RunResult

EXIT_PENDING = 5


def _migrator(args: argparse.Namespace, reporter: Any = None) -> Migrator:
    """The Migrator for this invocation's one database."""
    from migrator.api import Migrator

    flags = {k: getattr(args, k, None) for k in ("url", *COMMAND_LINE_SETTINGS)}
    return Migrator(settings=load_settings(flags), reporter=reporter)


def _with_reporter(
    args: argparse.Namespace, action: Callable[[Migrator], Any], *, per_file_lines: bool = True
) -> Any:
    """Run with progress output. Off a terminal, commands whose files are an implementation
    detail (verify, drift) print their own result lines only, unless --verbose."""
    quiet = args.quiet or (not per_file_lines and not args.verbose and not sys.stdout.isatty())
    from migrator.report import make_reporter

    reporter = make_reporter(json_mode=args.json, quiet=quiet, verbose=args.verbose)
    try:
        return action(_migrator(args, reporter))
    finally:
        close = getattr(reporter, "close", None)
        if close:
            close()


@contextmanager
def _findings(args: argparse.Namespace, failing: bool) -> Iterator[None]:
    """-q means errors only, not silence: a check that fails (validate, drift, verify, lint)
    still prints why, the lines it prints without -q, on stderr."""
    if not (args.quiet and failing):
        yield
        return
    args.quiet = False
    try:
        with redirect_stdout(sys.stderr):
            yield
    finally:
        args.quiet = True


# -- up / down / redo -------------------------------------------------------------------------
def cmd_up(args: argparse.Namespace) -> int:
    created = None
    if args.create:
        created = _create_first(args)
        if created is None:
            return 0
    result = _with_reporter(
        args,
        lambda m: m.up(
            args.to, dry_run=args.dry_run, allow_out_of_order=args.allow_out_of_order, backup=args.backup
        ),
    )
    return _print_run(args, result, {} if created is None else {"database_created": created})


def _create_first(args: argparse.Namespace) -> bool | None:
    """up --create: whether it created the database; None: a dry run found none to plan on."""
    m = _migrator(args)
    if args.dry_run:
        from migrator.dbadmin import exists

        if exists(m.url):
            return False
        message = f"dry run: database {m.url.database} does not exist; up --create would create it"
        if args.json:
            emit_json(
                {
                    "ok": True,
                    "command": "up",
                    "dry_run": True,
                    "would_create_database": True,
                    "message": message,
                },
                0,
            )
        else:
            say(args, message + " and apply every version; nothing was written")
        return None
    r = m.create_database()
    if r.changed and not args.json:
        say(args, f"created database {r.database}")
    return r.changed


def cmd_create(args: argparse.Namespace) -> int:
    r = _migrator(args).create_database()
    if args.json:
        emit_json({"ok": True, **r.to_dict()}, 0)
    else:
        say(args, r.summary)
    return 0


def cmd_drop(args: argparse.Namespace) -> int:
    def confirm(name: str) -> bool:
        return _ask(
            args,
            refusal=f"drop would delete database {name} and everything in it and needs "
            "confirmation; nothing was changed",
            question=f"Drop database {name} and everything in it? This cannot be undone.",
        )

    r = _migrator(args).drop_database(confirm=confirm)
    if args.json:
        emit_json({"ok": True, **r.to_dict()}, 0)
    else:
        say(args, r.summary)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    confirm = None if args.dry_run else _confirmation(args, "down")
    result = _with_reporter(
        args, lambda m: m.down(args.to, steps=args.steps, dry_run=args.dry_run, confirm=confirm)
    )
    return _print_run(args, result)


def cmd_redo(args: argparse.Namespace) -> int:
    # SPEC §6: the down half loses data like any rollback, so redo asks exactly as down does
    result = _with_reporter(args, lambda m: m.redo(confirm=_confirmation(args, "redo")))
    return _print_run(args, result)


def _confirmation(args: argparse.Namespace, command: str) -> Callable[[list[Migration]], bool]:
    """The one question `down` and `redo` ask before a rollback (asked only when there is one)."""
    then = " and apply it again" if command == "redo" else ""

    def confirm(todo: list[Migration]) -> bool:
        names = ", ".join(m.name for m in todo)
        return _ask(
            args,
            refusal=f"{command} would roll back {plural(len(todo), 'version')} ({names}){then} and needs "
            "confirmation; nothing was changed",
            question=f"Roll back {plural(len(todo), 'version')}{then}: {names}? This may lose data.",
        )

    return confirm


def cmd_restore(args: argparse.Namespace) -> int:
    def confirm(backup: Any) -> bool:
        what = f"schema {backup.schema} of " if backup.schema else ""
        taken = f", taken before version {backup.before_version}," if backup.before_version else ""
        return _ask(
            args,
            refusal=f"restore would replace {what}the database with {backup.path}{taken} and needs "
            "confirmation; nothing was changed",
            question=f"Replace {what}the database with {backup.path}{taken.rstrip(',')}? "
            "Changes made since are lost.",
        )

    r = _migrator(args).restore(args.file, confirm=confirm)
    if args.json:
        emit_json({"ok": True, **r.to_dict()}, 0)
    else:
        where = f"schema {r.schema} of {r.url}" if r.schema else r.url
        say(
            args,
            f"restored {r.file} into {where} in {duration(r.elapsed_ms)}; "
            f"database is at version {version_text(r.after)} (was {version_text(r.before)})",
        )
    return 0


def _ask(args: argparse.Namespace, *, refusal: str, question: str) -> bool:
    """As `down` asks: --yes answers; without a terminal refuse (exit 2); else a y/N question."""
    if args.yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(refusal, hint="pass --yes to confirm when there is no terminal")
    return ask(f"{question} [y/N]")


def _print_run(args: argparse.Namespace, r: RunResult, extra: dict[str, Any] | None = None) -> int:
    if not r.dry_run and r.versions and _truthy(_migrator(args).settings.extra.get("write_schema")):
        path = _migrator(args).write_schema_file()
        say(args, f"wrote {path}")
    if args.json:
        emit_json({"ok": True, **r.to_dict(), **(extra or {})}, 0)
        return 0
    if r.dry_run:
        _print_plan(args, r)
        return 0
    verb = "applied" if r.command in ("up", "redo") else "rolled back"
    repeatables = (
        f" and {plural(len(r.repeatables), 'repeatable migration')} ({', '.join(r.repeatables)})"
        if r.repeatables
        else ""
    )
    if not r.versions and not r.repeatables:
        say(args, f"nothing to do; database is at version {version_text(r.after)}")
    elif not r.versions:
        say(
            args,
            f"applied {plural(len(r.repeatables), 'repeatable migration')} ({', '.join(r.repeatables)}) "
            f"in {duration(r.elapsed_ms)}; "
            f"database is at version {version_text(r.after)}",
        )
    else:
        say(
            args,
            f"{verb} {plural(len(r.versions), 'version')}{repeatables} in {duration(r.elapsed_ms)}; "
            f"database is at version {version_text(r.after)}",
        )
    return 0


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true", "yes")


def _print_plan(args: argparse.Namespace, r: RunResult) -> None:
    versions = [p for p in r.planned if p.version is not None]
    if not r.planned:
        say(args, f"dry run: nothing to do; database is at version {version_text(r.before)}")
        return
    others = len(r.planned) - len(versions)
    also = f" and {plural(others, 'repeatable or callback file')}" if others else ""
    say(
        args,
        f"dry run: {plural(len(versions), 'version')}{also} would run on {r.dialect}; nothing was written",
    )
    for p in r.planned:
        n = len(p.statements)
        atomic = "atomic" if p.atomic else "not atomic"
        say(
            args,
            f"\n-- {p.direction} {p.name}: {p.file} ({p.mode}, {atomic}, {plural(n, 'statement')})",
        )
        if p.when:
            say(args, f"-- runs {p.when}")
        for w in p.warnings:
            say(args, f"-- warning: {w}")
        for s in p.statements:
            say(args, f"-- {p.file}:{s.line}")
            say(args, s.text + ";")
    say(args, f"\n-- database would be at version {version_text(r.after)}")


# -- status / pending / history -------------------------------------------------------------
def cmd_status(args: argparse.Namespace) -> int:
    s = _migrator(args).status()
    code = status_exit_code(s) if getattr(args, "exit_code", False) else 0
    if args.json:
        emit_json({"ok": True, **s.to_dict()}, code)
    else:
        say(args, f"database: {s.url} ({s.dialect})")
        say(args, f"current version: {version_text(s.current)}")
        say(args, f"pending: {len(s.pending)}")
        rows = [(str(v.version), v.name, v.shown, _when(v.applied_at)) for v in s.versions]
        say_lines(args, table_lines(("version", "name", "state", "applied at (UTC)"), rows))
        pending = s.pending_repeatables
        removed = [r for r in s.repeatables if r.state == "removed"]
        counts = [f"{len(pending)} changed"] * bool(pending) + [f"{len(removed)} removed"] * bool(removed)
        if s.repeatables:
            say(args, f"repeatable: {', '.join(counts) or 'all applied'}")
        for r in pending + removed:
            say_prose(args, f"  {r.name}{f' ({r.file})' if r.file else ''}: {r.describe()}", indent="    ")
        for p in s.problems:  # a warning already says so after its version, as validate prints it
            say_prose(args, str(p) if p.warning else f"drift: {p}")
    return code


def status_exit_code(s: Any) -> int:
    """`status --exit-code`: 5 when versions or repeatables are pending, else 3 on drift, else 0."""
    if s.pending or s.pending_repeatables:
        return EXIT_PENDING
    return 3 if any(not p.warning for p in s.problems) else 0


def cmd_pending(args: argparse.Namespace) -> int:
    s = _migrator(args).status()
    if args.json:
        emit_json({"ok": True, "pending": [v.to_dict() for v in s.pending]}, 0)
    else:
        for v in s.pending:
            say(args, f"{v.version}  {v.name}")
        if not s.pending:
            say(args, "no pending versions")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    events = _migrator(args).history()
    if args.json:
        emit_json(
            {
                "ok": True,
                "events": [
                    e.__dict__ if not hasattr(e, "__slots__") else {k: getattr(e, k) for k in e.__slots__}
                    for e in events
                ],
            },
            0,
        )
        return 0
    rows = [
        (
            str(e.id),
            _when(e.performed_at),
            e.action,
            str(e.version or ""),
            e.name or "",
            e.outcome,
            e.performed_by,
            "" if e.execution_ms is None else duration(e.execution_ms),
        )
        for e in events
    ]
    lines = table_lines(
        ("#", "when (UTC)", "action", "version", "name", "outcome", "by", "time"),
        rows,
        shrink=("name", "by"),
        least={"by": 10},
        optional=("#",),
    )
    say_lines(args, lines[:1])
    for line, e in zip(lines[1:], events, strict=True):
        say(args, line)
        if e.reason:  # free text, as long as a person wrote it: under its row, never cut
            say_lines(args, wrapped(f"   reason: {e.reason}", output_width(), indent=" " * 8))
    if not events:
        say(args, "no history yet")
    return 0


def _when(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)[:19]


# -- validate / hash ------------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> int:
    if args.offline:
        return _validate_offline(args)
    m = _migrator(args)
    layout_problems = m.layout.problems
    if layout_problems:
        from migrator.errors import LayoutError

        raise LayoutError(layout_problems)
    result = m.validate(strict=args.strict)
    schema_diff = m.check_schema_file() if args.schema_file else ""
    ok = result.ok and not schema_diff
    if args.json:
        emit_json(
            {**result.to_dict(), "ok": ok, **({"schema_file_diff": schema_diff} if args.schema_file else {})},
            0 if ok else 3,
        )
        return 0 if ok else 3
    with _findings(args, not ok):
        for p in result.problems:
            strict_error = args.strict and p.kind == "down-changed"
            say_prose(args, str(p).replace(": warning: ", ": down-changed: ") if strict_error else str(p))
            if p.detail.get("diff"):
                say(args, "\n".join("    " + line for line in p.detail["diff"].rstrip().splitlines()))
        for r in result.repeatables:
            say_prose(args, f"pending: repeatable {r.name} ({r.file}): {r.describe()}")
        for r in result.removed_repeatables:
            say_prose(args, f"note: repeatable {r.name}: {r.describe()}")
        if schema_diff:
            say_prose(
                args,
                f"{m.schema_file} does not match what the migrations produce; "
                "run `migrator schema --write` on a migrated database and commit it:",
            )
            say(args, schema_diff.rstrip())
        say(
            args,
            "ok: the database matches the migration files"
            if ok
            else f"drift: {plural(len(result.errors) + bool(schema_diff), 'problem')}",
        )
    return 0 if ok else 3


def _validate_offline(args: argparse.Namespace) -> int:
    from migrator.discovery import Layout
    from migrator.sumfile import compare

    layout = Layout(load_settings({"dir": getattr(args, "dir", None)}).dir)
    problems = compare(layout)
    if args.json:
        emit_json({"ok": not problems, "problems": [p.to_dict() for p in problems]}, 0 if not problems else 3)
        return 0 if not problems else 3
    with _findings(args, bool(problems)):
        for p in problems:
            say(args, str(p))
        say(
            args,
            "ok: every file matches migrator.sum"
            if not problems
            else f"drift: {plural(len(problems), 'file')} {'differs' if len(problems) == 1 else 'differ'} "
            "from migrator.sum",
        )
    return 0 if not problems else 3


def cmd_hash(args: argparse.Namespace) -> int:
    from migrator.discovery import Layout
    from migrator.sumfile import write

    layout = Layout(load_settings({"dir": getattr(args, "dir", None)}).dir)
    path = write(layout)
    count = len(layout.files())
    if args.json:
        emit_json({"ok": True, "file": str(path), "files": count}, 0)
    else:
        say(args, f"wrote {path} ({plural(count, 'file')})")
    return 0


# -- show / new / baseline / repair ----------------------------------------------------------
def cmd_show(args: argparse.Namespace) -> int:
    version = args.version if args.version is not None else args.version_flag
    if version is None:
        raise UsageError("show needs a version: migrator show 3")
    r = _migrator(args).show(version)
    if args.json:
        emit_json({"ok": True, **r.to_dict()}, 0)
        return 0
    m, row = r.migration, r.row
    say(args, f"version {m.version}: {m.name} ({m.description})")
    state = f"{row.status} at {_when(row.applied_at)} UTC by {row.applied_by}" if row else "pending"
    say(args, f"state: {state}")
    for label, f, sql, diff, applied in (
        ("up", m.up, r.up_sql, r.up_diff, row.checksum if row else None),
        ("down", m.down, r.down_sql, r.down_diff, row.down_checksum if row else None),
    ):
        say(args, f"\n-- {label}: {f.rel}  sha256 {f.checksum}")
        if applied and applied != f.checksum:
            say(args, f"-- CHANGED since applied (applied sha256 {applied})")
        elif diff:
            say(args, "-- differs from the applied text in whitespace only (same checksum)")
        say(args, sql.rstrip("\n"))
        if diff:
            say(args, f"\n-- diff, applied -> now:\n{diff.rstrip()}")
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    from migrator.scaffold import new_migration, new_repeatable

    if args.repeatable:
        path = new_repeatable(load_settings({"dir": getattr(args, "dir", None)}).dir, args.name, args.dialect)
        if args.json:
            emit_json({"ok": True, "file": str(path)}, 0)
        else:
            say(args, f"created {path}")
        return 0
    folder = new_migration(load_settings({"dir": getattr(args, "dir", None)}).dir, args.name, args.dialect)
    if args.json:
        emit_json({"ok": True, "folder": str(folder)}, 0)
    else:
        say(args, f"created {folder}/up.sql and {folder}/down.sql")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from migrator.importers import import_folder

    r = import_folder(
        args.source_format,
        Path(args.source),
        load_settings({"dir": getattr(args, "dir", None)}).dir,
        dry_run=args.dry_run,
        skip_unsupported=args.skip_unsupported,
    )
    if args.json:
        emit_json({"ok": True, **r.to_dict()}, 0)
        return 0
    verb = "dry run: would write" if r.dry_run else "wrote"
    say(
        args,
        f"{verb} {plural(len(r.migrations), 'version')} from {r.source_format} folder {r.source} "
        f"into {r.dir}",
    )
    for m in r.migrations:
        shown = (
            m.source_version if m.source_version == str(m.version) else f"{m.source_version} -> {m.version}"
        )
        say(args, f"  {shown:>16}  {m.folder}  <- {', '.join(m.sources)}")
        for note in m.notes:
            say(args, f"{'':>20}{note}")
        if r.dry_run:
            for name, text in (("up.sql", m.up), ("down.sql", m.down)):
                say(args, f"\n-- {r.dir / m.folder / name}\n{text.rstrip()}\n")
    for side in r.sides:
        say(args, f"  {'':>16}  {side.file}  <- {', '.join(side.sources)}")
        for note in side.notes:
            say(args, f"{'':>20}{note}")
        if r.dry_run:
            say(args, f"\n-- {r.dir / side.file}\n{side.text.rstrip()}\n")
    for s in r.skipped:
        if s.unsupported:
            safe_write(sys.stderr, f"warning: {s.file}: not imported: {s.reason}\n")
        else:
            say(args, f"skipped {s.file}: {s.reason}")
    for warning in r.warnings:
        safe_write(sys.stderr, f"warning: {warning}\n")
    if not r.dry_run:
        say(
            args,
            "next: read the notes above, run `migrator hash`, and on a database the old tool "
            "already migrated, `migrator baseline V` (see docs/migrating.md)",
        )
    return 0


def cmd_baseline(args: argparse.Namespace) -> int:
    r = _migrator(args).baseline(args.version, force=args.force, dry_run=args.dry_run)
    return _print_admin(args, r)


def cmd_repair(args: argparse.Namespace) -> int:
    def confirm(changes: list[Any]) -> bool:
        if args.yes:
            return True
        if not sys.stdin.isatty():
            raise UsageError(
                f"repair would change {plural(len({c.version for c in changes}), 'row')} (shown above); "
                "nothing was changed",
                hint="pass --yes to confirm, or --dry-run",
            )
        return ask("Apply these changes to the version table? [y/N]")

    m = _migrator(args)
    if not args.dry_run and not args.yes and not args.json:
        preview = m.repair(args.versions, mark_applied=args.mark_applied, dry_run=True)
        code = _print_admin(args, preview)
        if not preview.changes:
            return code
    r = m.repair(
        args.versions,
        reason=args.reason,
        mark_applied=args.mark_applied,
        dry_run=args.dry_run,
        confirm=None if args.dry_run else confirm,
    )
    return _print_admin(args, r) if (args.yes or args.dry_run or args.json) else _done(args, r)


def _print_admin(args: argparse.Namespace, r: Any) -> int:
    """The changes, what was skipped, and what could not be done (exit 3: a refusal)."""
    blocked = r.blocked
    if args.json:
        code = 3 if blocked else 0
        emit_json({"ok": not blocked, **r.to_dict()}, code)
        return code
    prefix = "would " if r.dry_run else ""
    for c in r.changes:
        checks = (
            f" (checksum {c.old_checksum[:12]} -> {c.new_checksum[:12]})"
            if c.old_checksum and c.new_checksum
            else ""
        )
        say(args, f"{prefix}{c.action} version {c.version} ({c.name}): {c.description}{checks}")
        if c.check is not None:
            _print_check(args, c)
    for s in r.skipped:
        say(args, f"skipped: {s}")
    for b in blocked:
        safe_write(sys.stderr, f"error: {b}\n")
    if not r.changes:
        say(args, f"{r.command}: nothing {'was changed' if blocked else 'to change'}")
    return 3 if blocked else 0


_CHECK_STATE = {
    "committed": "committed",
    "failed": "failed",
    "running": "was running when the run stopped; it may have committed",
    "whole file": "the whole file (it cannot be split into statements)",
}


def _print_check(args: argparse.Namespace, c: Any) -> None:
    """What ran of a failed file whose folder is gone: the SQL a person checks by hand."""
    if not c.check:
        say(
            args,
            "-- the version table kept no text of this file (a file over 1 MB); restore the folder to see it",
        )
        return
    say(args, "-- what ran, as the version table kept it; check each statement in the database by hand:")
    for st in c.check:
        say(args, f"-- statement {st.number} (line {st.line}): {_CHECK_STATE.get(st.state, st.state)}")
        say(args, st.text + ";")


def _done(args: argparse.Namespace, r: Any) -> int:
    say(args, f"{r.command}: {plural(len(r.changes), 'change')} written and recorded in the history")
    return 3 if r.blocked else 0


# -- verify / schema / drift ------------------------------------------------------------------
def cmd_verify(args: argparse.Namespace) -> int:
    decided: list[Any] = []  # the versions checked before a file that fails to run, too
    try:
        result = _with_reporter(
            args,
            lambda m: m.verify(
                first=args.first, last=args.last, scratch_url=args.scratch_url, on_check=decided.append
            ),
            per_file_lines=False,
        )
    except MigratorError as exc:
        if args.json:  # the versions checked before the failure are part of the outcome
            exc.document = {"versions": [c.to_dict() for c in decided]}
        else:
            _print_checks(args, decided)
        raise
    if args.json:
        emit_json(result.to_dict(), 0 if result.ok else 3)
        return 0 if result.ok else 3
    with _findings(args, not result.ok):
        _print_checks(args, result.checks)
        if result.ok:
            checked = sum(c.outcome == "ok" for c in result.checks)
            skipped = len(result.checks) - checked
            if checked:
                line = f"verify: every down.sql restores the schema ({checked} checked" + (
                    f", {skipped} skipped: irreversible)" if skipped else ")"
                )
            elif skipped:  # an imported folder without down migrations: nothing was proved
                line = f"verify: no down.sql was checked ({skipped} skipped: irreversible)"
            else:
                line = "verify: no version to check"
            say(args, line)
        else:
            bad = next(c for c in result.checks if c.outcome == "differs")
            say_prose(
                args,
                f"verify: version {bad.version} ({bad.name}): down.sql does not restore "
                "the schema before up; later versions were not checked",
            )
    return 0 if result.ok else 3


def _print_checks(args: argparse.Namespace, checks: list[Any]) -> None:
    for c in checks:
        label = {"ok": "ok", "differs": "DIFFERS", "skipped": "skipped (irreversible)"}[c.outcome]
        say_prose(args, f"{c.version:>6}  {c.name}: {label}", indent=" " * 8)
        for d in c.differences:
            say_prose(args, f"        - {d}", indent=" " * 10)


def cmd_schema(args: argparse.Namespace) -> int:
    from migrator.snapshot import render_text, to_json

    m = _migrator(args)
    schema = m.schema()
    if args.write:
        path = m.settings.dir / f"schema.{m.dialect_name}.txt"
        path.write_text(render_text(schema), encoding="utf-8", newline="\n")
        if args.json:
            emit_json({"ok": True, "file": str(path), "objects": len(list(schema))}, 0)
        say(args, f"wrote {path}")
    elif args.json:
        emit_json({"ok": True, **to_json(schema)}, 0)
    else:
        sys.stdout.write(render_text(schema))
    return 0


def cmd_drift(args: argparse.Namespace) -> int:
    report = _with_reporter(
        args, lambda m: m.drift(ignore=args.ignore, scratch_url=args.scratch_url), per_file_lines=False
    )
    if args.json:
        emit_json(report.to_dict(), 0 if report.ok else 3)
        return 0 if report.ok else 3
    with _findings(args, not report.ok):
        for d in report.differences:
            say(args, d)
        ignored = f" ({report.ignored} ignored)" if report.ignored else ""
        say(
            args,
            "no drift: the database matches its applied migrations" + ignored
            if report.ok
            else f"drift: {plural(len(report.differences), 'object')} "
            f"{'differs' if len(report.differences) == 1 else 'differ'}{ignored}",
        )
    return 0 if report.ok else 3


# -- wait / init / completion ------------------------------------------------------------------
def cmd_wait(args: argparse.Namespace) -> int:
    from migrator.tools import wait_for
    from migrator.urls import parse_url

    settings = load_settings({"url": getattr(args, "url", None)})
    url = parse_url(settings.url)
    seconds = wait_for(url, args.timeout)
    if args.json:
        emit_json({"ok": True, "url": url.masked, "waited_s": round(seconds, 3)}, 0)
    else:
        say(args, f"{url.masked} accepts connections (waited {seconds:.1f}s)")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from migrator.scaffold import LOCK_PATTERN
    from migrator.tools import init_project

    here = Path.cwd()
    done = init_project(here, load_settings({"dir": getattr(args, "dir", None)}).dir)
    shown = [
        (verb, path.relative_to(here) if path.is_absolute() and path.is_relative_to(here) else path)
        for verb, path in done
    ]
    if args.json:
        doc: dict[str, Any] = {"ok": True, "created": [], "updated": []}
        for verb, path in shown:
            doc[verb].append(path.as_posix())
        emit_json(doc, 0)
    for verb, path in shown:
        say(args, f"created {path}" if verb == "created" else f"added {LOCK_PATTERN} to {path}")
    folder = next((path for verb, path in shown if verb == "created" and (here / path).is_dir()), None)
    if folder is not None:  # its up.sql is a placeholder, which `up` refuses to record as applied
        say_prose(
            args,
            f"next: write the change in {folder}/up.sql and its undo in down.sql, then run `migrator up`",
        )
    if not done:
        say(args, "nothing to create: sql/ and migrator.toml already exist")
    return 0


def cmd_completion(args: argparse.Namespace) -> int:
    from migrator.cli import build_parser
    from migrator.tools import completion_script

    sys.stdout.write(completion_script(args.shell, build_parser()))
    return 0


# -- lint ---------------------------------------------------------------------------------------
def cmd_lint(args: argparse.Namespace) -> int:
    from migrator.discovery import Layout
    from migrator.lint.engine import LintConfig, lint, merge, select
    from migrator.model import DIALECTS

    fmt = args.format or ("json" if args.json else "text")
    settings = load_settings({"url": getattr(args, "url", None), "dir": args.dir, "table": args.table})
    config = LintConfig.from_settings(settings.extra.get("lint"))
    layout = Layout(settings.dir)
    layout.raise_problems()
    with_url = settings.url_source != "default"
    if (args.measure or args.scratch_url) and not with_url:
        raise UsageError(
            "lint --measure runs the versions on a scratch database beside the database at "
            "--url, and no database URL is given",
            hint="give the database with --url (or MIGRATOR_URL, DATABASE_URL, url in migrator.toml); "
            "lint never touches it: it measures on a scratch database it creates and drops",
        )
    if args.scratch_url and not args.measure:
        raise UsageError(
            "--scratch-url is for lint --measure", hint="add --measure, or leave --scratch-url out"
        )
    if with_url:
        migrator = _migrator(args)
        dialects = {migrator.dialect_name: layout.migrations(migrator.dialect_name)}
        applied = None if args.versions else {migrator.dialect_name: set(migrator.applied())}
    else:
        dialects, applied = {d: layout.migrations(d) for d in DIALECTS}, None
    selection = select(dialects, args.versions, applied)
    # the pending versions of one database deploy together; without one, each may ship alone
    report = lint(selection, config, one_run=applied is not None)
    measured: list[Any] = []
    if args.measure:  # on a scratch database beside the one at --url, never on that one
        from migrator.lint.measure import measure_for

        versions = {m.version for m in selection.get(migrator.dialect_name, [])}
        measured = measure_for(migrator, versions, args.scratch_url)
    touched = {t for f in report.findings for t in f.touches}
    # with a database: the size of each table a finding touches there, from the catalog only
    sizes = migrator.table_sizes(touched) if with_url and touched else None
    report = merge(report, measured, sizes)
    code = report.exit_code
    folder = str(args.dir or settings.dir)
    if fmt == "json":
        emit_json(report.to_dict(), code)
    elif fmt == "github":
        from migrator.lint.formats import github

        safe_write(sys.stdout, github(report, folder))
    elif fmt == "sarif":
        import json

        from migrator.lint.formats import sarif

        safe_write(sys.stdout, json.dumps(sarif(report, folder), indent=2) + "\n")
    else:
        with _findings(args, code != 0):
            _print_lint(args, report)
    return code


def _print_lint(args: argparse.Namespace, report: Any) -> None:
    for f in report.findings:
        say(args, f"{f.file}:{f.line}:{f.column}: {f.severity} [{f.rule}] ({f.dialect}, version {f.version})")
        say(args, f"  {f.statement}")
        say_prose(args, f"  why: {f.message}", "    ")
        say_prose(args, f"  safer: {f.hint}", "    ")
        if f.tables:
            from migrator.lint.impact import size_phrase

            say(args, "  touches " + ", ".join(size_phrase(t) for t in f.tables))
        if f.locks or f.rewrites:
            say_prose(args, f"  measured: {_measured_phrase(f.locks, f.rewrites)}", "    ")
        if f.measured_note:
            say_prose(args, f"  {f.measured_note}", "    ")
    for i in report.ignored:
        g = i.finding
        say(
            args,
            f"{g.file}:{g.line}:{g.column}: accepted [{g.rule}] ({g.dialect}, version {g.version}): "
            + i.reason,
        )
    for m in report.measured:
        online = f"; online: ALGORITHM={m.online}" if m.online else ""
        say_prose(
            args,
            f"measured {m.file}:{m.line} ({m.dialect}, version {m.version}, {m.ms:.1f} ms): "
            f"{_measured_phrase(m.locks, m.rewrites)}{online}",
            "  ",
        )
    for u in report.unchecked:
        say_prose(
            args,
            f"not checked on {u.dialect}: {u.file}:{u.line}:{u.column}: {u.reason} (it splits on "
            f"{', '.join(u.read_by)}; a file written for one dialect can go under sql/<dialect>/)",
            "  ",
        )
    errors = sum(f.severity == "error" for f in report.findings)
    warnings = len(report.findings) - errors
    accepted = f", {len(report.ignored)} accepted" if report.ignored else ""
    outcome = "ok" if report.ok else "unsafe"
    say(args, f"{outcome}: {plural(errors, 'error')}, {plural(warnings, 'warning')}{accepted}")


def _measured_phrase(locks: Any, rewrites: Any) -> str:
    """What a statement did on the scratch database, in words."""
    by_mode: dict[str, list[str]] = {}
    for lock in locks:
        by_mode.setdefault(lock.mode, []).append(lock.table)
    held = "; ".join(f"{mode} on {', '.join(tables)}" for mode, tables in by_mode.items())
    parts = [f"held {held} until commit"] if held else []  # (only postgres shows table locks)
    parts.append(f"rewrote {', '.join(rewrites)}" if rewrites else "rewrote no table")
    return ", ".join(parts)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "lint": cmd_lint,
    "up": cmd_up,
    "down": cmd_down,
    "redo": cmd_redo,
    "restore": cmd_restore,
    "create": cmd_create,
    "drop": cmd_drop,
    "status": cmd_status,
    "pending": cmd_pending,
    "history": cmd_history,
    "validate": cmd_validate,
    "hash": cmd_hash,
    "show": cmd_show,
    "new": cmd_new,
    "import": cmd_import,
    "baseline": cmd_baseline,
    "repair": cmd_repair,
    "verify": cmd_verify,
    "schema": cmd_schema,
    "drift": cmd_drift,
    "wait": cmd_wait,
    "init": cmd_init,
    "completion": cmd_completion,
}
