"""`--targets FILE` or several `--url` (SPEC §10): one command on every target, a line or a
live table row per target, and the highest exit status of them all."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from migrator.api import Migrator
from migrator.commands import status_exit_code
from migrator.config import COMMAND_LINE_SETTINGS, load_settings
from migrator.errors import ConfigError, UsageError
from migrator.report.targets import make_board
from migrator.report.text import emit_json, say, version_text
from migrator.targets import StopCheck, Target, TargetResult, read_targets, run_targets

# (migrator, stop check) -> (exit status, one-line summary, JSON document). up and down pass
# the stop check to the runner, which asks it between files; the others finish quickly anyway.
TargetAction = Callable[[Migrator, StopCheck], tuple[int, str, dict[str, Any]]]


def run_on_targets(args: argparse.Namespace) -> int:
    command = {"migrate": "up", "rollback": "down"}.get(args.command, args.command)
    actions = _target_actions(args)
    if command not in actions:
        raise UsageError(
            f"`{args.command}` runs on one database; --targets and several --url "
            f"work with {', '.join(sorted(actions))}"
        )
    if command == "validate" and args.offline:  # migrator.sum against the files: no database
        from migrator.commands import cmd_validate

        return cmd_validate(args)
    if getattr(args, "create", False):
        raise UsageError(
            "up --create works on one database; nothing was changed",
            hint="run `migrator create --url URL` for each target first",
        )
    if command == "down" and not args.dry_run and not args.yes:
        raise UsageError("down on several targets needs --yes", hint="nothing was changed")
    targets = read_targets(Path(args.targets)) if args.targets else [Target(u) for u in args.url]

    # a live table on a terminal, a line per target otherwise, nothing under --json / -q
    flags = {k: getattr(args, k, None) for k in COMMAND_LINE_SETTINGS}

    def migrator_for(target: Target, reporter: Any = None) -> Migrator:
        settings = load_settings({**flags, "url": target.url})
        settings.schema = target.schema or ""
        return Migrator(settings=settings, reporter=reporter)

    for target in targets:  # a bad URL or schema= is a config error before any target starts
        try:
            migrator_for(target)
        except (ConfigError, UsageError) as exc:
            raise type(exc)(f"target {target.label}: {exc.message}", hint=exc.hint) from None
    board = make_board(targets, json_mode=args.json, quiet=args.quiet, stream=sys.stdout)

    def action(index: int, target: Target, stop: StopCheck) -> TargetResult:
        board.started(index)
        migrator = migrator_for(target, board.reporter(index))
        code, summary, doc = actions[command](migrator, stop)
        return TargetResult(target, code, summary, doc)

    try:
        results, worst = run_targets(
            targets,
            action,
            # one --scratch-url is one database: the targets take turns on it (it is emptied
            # after each), where several at once would build their schemas into each other
            parallel=1 if getattr(args, "scratch_url", None) else args.parallel or 4,
            continue_on_error=args.continue_on_error,
            on_done=board.done,
        )
    finally:
        board.close()
    if args.json:
        emit_json({"ok": worst == 0, "exit_code": worst, "targets": [r.to_dict() for r in results]})
    else:
        failed = sum(1 for r in results if r.exit_code not in (0,))
        say(args, f"{len(results)} target{'s' if len(results) != 1 else ''}, {failed} not ok; exit {worst}")
    return worst


def _target_actions(args: argparse.Namespace) -> dict[str, TargetAction]:
    def up(m: Migrator, stop: StopCheck) -> tuple[int, str, dict[str, Any]]:
        r = m.up(
            args.to,
            dry_run=args.dry_run,
            allow_out_of_order=args.allow_out_of_order,
            backup=args.backup,
            should_stop=stop,
        )
        also = f", {len(r.repeatables)} repeatable" if r.repeatables else ""
        return 0, f"{_span(r.before, r.after)} ({len(r.versions)} applied{also})", r.to_dict()

    def down(m: Migrator, stop: StopCheck) -> tuple[int, str, dict[str, Any]]:
        r = m.down(args.to, steps=args.steps, dry_run=args.dry_run, should_stop=stop)
        return 0, f"{_span(r.before, r.after)} ({len(r.versions)} rolled back)", r.to_dict()

    def status(m: Migrator, stop: StopCheck) -> tuple[int, str, dict[str, Any]]:
        s = m.status()
        code = status_exit_code(s) if getattr(args, "exit_code", False) else 0  # as on one database
        changed = len(s.pending_repeatables)
        also = f", {changed} repeatable{'s' if changed != 1 else ''} changed" if changed else ""
        drift = sum(not p.warning for p in s.problems)
        also += f", drift: {drift} problem{'s' if drift != 1 else ''}" if drift else ""
        return code, f"version {version_text(s.current)}, {len(s.pending)} pending{also}", s.to_dict()

    def validate(m: Migrator, stop: StopCheck) -> tuple[int, str, dict[str, Any]]:
        r = m.validate(strict=args.strict)
        stale = m.check_schema_file() if args.schema_file else ""  # as on one database
        problems = len(r.errors) + bool(stale)
        doc = {**r.to_dict(), "ok": not problems, **({"schema_file_diff": stale} if args.schema_file else {})}
        return (
            (0 if not problems else 3),
            ("clean" if not problems else f"{problems} problem{'s' if problems != 1 else ''}"),
            doc,
        )

    def drift(m: Migrator, stop: StopCheck) -> tuple[int, str, dict[str, Any]]:
        r = m.drift(ignore=args.ignore, scratch_url=args.scratch_url)
        return (0 if r.ok else 3), ("no drift" if r.ok else "; ".join(r.differences)), r.to_dict()

    def verify(m: Migrator, stop: StopCheck) -> tuple[int, str, dict[str, Any]]:
        r = m.verify(first=args.first, last=args.last, scratch_url=args.scratch_url)
        return (0 if r.ok else 3), ("ok" if r.ok else "a down.sql does not undo its up.sql"), r.to_dict()

    return {"up": up, "down": down, "status": status, "validate": validate, "drift": drift, "verify": verify}


def _span(before: int | None, after: int | None) -> str:
    return f"{version_text(before)} -> {version_text(after)}"
