"""Command line: argparse -> settings -> Migrator -> reporter -> exit status (SPEC §6)."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from typing import Any

from migrator import __version__
from migrator.errors import MigratorError


class _ArgParser(argparse.ArgumentParser):
    _command = ""  # the subcommand named on the command line, once parsed

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        parsed, extras = super().parse_known_args(args, namespace)
        self._command = getattr(parsed, "command", None) or ""
        return parsed, extras

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:  # reported by the command's own parser: its usage, its --help in the hint
            sub = next((a for a in self._actions if isinstance(a, argparse._SubParsersAction)), None)
            reporter = sub.choices.get(self._command, self) if sub and self._command else self
            reporter.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed

    def error(self, message: str) -> Any:  # argparse's own usage errors: exit 2 with a hint
        self.print_usage(sys.stderr)
        command = self.prog.partition(" ")[2] or self._command
        hint = (
            f"`migrator {command} --help` lists the options `{command}` takes"
            if command
            else "`migrator --help` lists commands and options"
        )
        sys.stderr.write(f"error: {message}\nhint: {hint}\n")
        if "--json" in sys.argv[1:]:  # one JSON document on stdout, also for a bad command line
            import json

            error = {"kind": "usage", "message": message, "hint": hint}
            sys.stdout.write(json.dumps({"ok": False, "exit_code": 2, "error": error}) + "\n")
        raise SystemExit(2)


class _Commands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """The subcommands. A subcommand parses its own options into a fresh namespace that then
    replaces the values given before it, so `--url A status --url B` dropped A without a word:
    every `--url` counts, wherever it stands (several of them are several targets)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
        before = getattr(namespace, "url", None)
        super().__call__(parser, namespace, values, option_string)
        after = getattr(namespace, "url", None)
        if before and after and after is not before:
            namespace.url = list(before) + list(after)


# Every global option, in the order `--help` lists them. Each works before the command and after
# it (SPEC §6: a deploy script may put `--url` last on any command); each subcommand's --help
# lists only those that apply to it, and the others are accepted there without a word.
_GLOBALS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "url": (
        ("--url",),
        {
            "action": "append",
            "help": "database URL (else MIGRATOR_URL, DATABASE_URL, migrator.toml, "
            "sqlite:///migrator.db); repeat it to run on several databases",
        },
    ),
    "targets": (
        ("--targets",),
        {"metavar": "FILE", "help": "run on every target listed in FILE (`URL [schema=NAME]` per line)"},
    ),
    "parallel": (
        ("--parallel",),
        {"type": "positive", "metavar": "N", "help": "targets at once (default 4)"},
    ),
    "continue_on_error": (
        ("--continue-on-error",),
        {"action": "store_true", "help": "keep starting targets after one failed"},
    ),
    "dir": (("--dir",), {"help": "migrations folder (default sql)"}),
    "table": (("--table",), {"help": "version table (default schema_version)"}),
    "json": (("--json",), {"action": "store_true", "help": "one JSON document on stdout"}),
    "quiet": (("-q", "--quiet"), {"action": "store_true", "help": "errors only"}),
    "verbose": (
        ("-v", "--verbose"),
        {"action": "store_true", "help": "print every statement with its duration"},
    ),
    "lock_timeout": (
        ("--lock-timeout",),
        {"metavar": "SECONDS", "help": "wait at most this long for migrator's lock (default 60)"},
    ),
    "lock_wait_timeout": (
        ("--lock-wait-timeout",),
        {"metavar": "D", "help": "how long one statement may wait for a table lock (5s, 1min)"},
    ),
    "statement_timeout": (
        ("--statement-timeout",),
        {"metavar": "D", "help": "how long one statement may run (no limit by default)"},
    ),
    "batch_pause": (
        ("--batch-pause",),
        {"metavar": "D", "help": "wait this long between the batches of a `batch` file"},
    ),
    "env_file": (
        ("--env-file",),
        {
            "metavar": "PATH",
            "help": "read MIGRATOR_* and DATABASE_URL from this file (default .env); "
            "the real environment wins",
        },
    ),
    "no_env_file": (("--no-env-file",), {"action": "store_true", "help": "do not read .env"}),
}
ALL_GLOBALS = tuple(_GLOBALS)
# which global options each kind of command uses
_ENV = ("env_file", "no_env_file")
_DATABASE = ("url", "table")  # commands that connect
_TARGETS = ("targets", "parallel", "continue_on_error")  # commands that run on several targets
_SESSION = ("lock_wait_timeout", "statement_timeout")  # commands that run migration files
_RUNS = (
    *_DATABASE,
    *_TARGETS,
    "dir",
    "json",
    "quiet",
    "verbose",
    "lock_timeout",
    *_SESSION,
    "batch_pause",
    *_ENV,
)
_FILES_ONLY = ("dir", "json", "quiet", *_ENV)  # commands that read or write the folder only


def _global_options(parser: argparse.ArgumentParser, shown: tuple[str, ...], *, suppress: bool) -> None:
    """Every global option; those not in `shown` are accepted but left out of --help."""
    g = parser.add_argument_group("global options")
    for name in ALL_GLOBALS:
        flags, spec = _GLOBALS[name]
        kwargs = {**spec, "dest": name}
        if name not in shown:
            kwargs["help"] = argparse.SUPPRESS
        if kwargs.get("type") == "positive":
            kwargs["type"] = _positive
        if suppress:
            kwargs["default"] = argparse.SUPPRESS
        elif kwargs.get("action") == "store_true":
            kwargs["default"] = False
        g.add_argument(*flags, **kwargs)


class _NotOnTheCommandLine:
    """Stands in for a subcommand the command line does not name: its options need not exist
    (each add_argument builds a help formatter; 300 of them were a fifth of `status`)."""

    def add_argument(self, *args: Any, **kwargs: Any) -> None:
        return None

    def add_mutually_exclusive_group(self, *args: Any, **kwargs: Any) -> _NotOnTheCommandLine:
        return self


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser; given argv, only the subcommands named in it get their options (a
    token that merely looks like one, an option's value, costs nothing but a full build)."""
    named = None if argv is None else set(argv)
    parser = _ArgParser(
        prog="migrator", description="Plain-SQL migrations for SQLite, PostgreSQL and MySQL/MariaDB."
    )
    _global_options(parser, ALL_GLOBALS, suppress=False)
    parser.add_argument("--version", action="version", version=f"migrator {__version__}")
    sub = parser.add_subparsers(
        action=_Commands,
        dest="command",
        metavar="COMMAND",
        parser_class=_ArgParser,
        help="one of these; `migrator COMMAND --help` lists its options",
    )

    def command(
        name: str, help_text: str, aliases: tuple[str, ...] = (), options: tuple[str, ...] = ALL_GLOBALS
    ) -> Any:
        """A subcommand with the global options that apply to it (all, unless it says)."""
        p = sub.add_parser(name, help=help_text, aliases=list(aliases), description=help_text)
        if named is not None and named.isdisjoint((name, *aliases)):
            return _NotOnTheCommandLine()
        _global_options(p, options, suppress=True)
        return p

    p = command("up", "apply pending versions in order", aliases=("migrate",))
    p.add_argument("--to", "--version", dest="to", type=_version, metavar="V", help="stop after version V")
    p.add_argument("--dry-run", action="store_true", help="print what would run; write nothing")
    p.add_argument(
        "--allow-out-of-order",
        action="store_true",
        help="also apply pending versions lower than the highest applied one",
    )
    take = p.add_mutually_exclusive_group()
    take.add_argument(
        "--backup",
        dest="backup",
        action="store_true",
        default=None,
        help="back up the database before the first pending version",
    )
    take.add_argument(
        "--no-backup",
        dest="backup",
        action="store_false",
        help="take no backup, not even for `-- migrator: backup` files",
    )
    p.add_argument("--backup-dir", metavar="D", help="where backups go (default backups/)")
    p.add_argument("--create", action="store_true", help="create the database first when it does not exist")

    p = command("down", "roll back applied versions (default: the last one)", aliases=("rollback",))
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--to",
        "--version",
        dest="to",
        type=_version,
        metavar="V",
        help="roll back every version above V (0: all)",
    )
    how.add_argument("--steps", type=_positive, metavar="N", help="roll back the last N versions")
    p.add_argument("--dry-run", action="store_true", help="print what would run; write nothing")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")

    p = command(
        "redo",
        "roll back the latest version and apply it again; asks first, as down does",
        options=tuple(o for o in _RUNS if o not in _TARGETS),
    )
    p.add_argument(
        "--yes", "-y", action="store_true", help="do not ask for confirmation (needed without a terminal)"
    )

    p = command(
        "restore",
        "restore a backup migrator took into the database at --url",
        options=(*_DATABASE, "json", "quiet", "lock_timeout", *_ENV),
    )
    p.add_argument("file", metavar="FILE", help="a backup file from --backup-dir (default backups/)")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")

    command(
        "create",
        "create the database at --url (sqlite: its file); exit 0 if it exists",
        options=(*_DATABASE, "json", "quiet", *_ENV),
    )
    p = command(
        "drop",
        "drop the database at --url (sqlite: its file) after asking",
        options=(*_DATABASE, "json", "quiet", *_ENV),
    )
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")

    p = command(
        "status",
        "current version, pending versions, drift summary",
        options=(*_DATABASE, *_TARGETS, *_FILES_ONLY),
    )
    p.add_argument("--exit-code", action="store_true", help="exit 5 when versions are pending")
    command("pending", "list pending versions (exit 0)", options=(*_DATABASE, *_FILES_ONLY))
    command("history", "every up, down, baseline and repair", options=(*_DATABASE, "json", "quiet", *_ENV))

    p = command(
        "validate",
        "check the database (or with --offline, migrator.sum) against the files",
        options=(*_DATABASE, *_TARGETS, *_FILES_ONLY, *_SESSION),
    )
    p.add_argument("--offline", action="store_true", help="compare files with sql/migrator.sum only")
    p.add_argument("--strict", action="store_true", help="a changed down.sql is an error too")
    p.add_argument(
        "--schema-file",
        action="store_true",
        help="also check sql/schema.<dialect>.txt against what the migrations produce",
    )

    p = command(
        "show",
        "effective SQL, checksums and state of one version",
        aliases=("show-migration",),
        options=(*_DATABASE, *_FILES_ONLY),
    )
    p.usage = "migrator show V [options]"  # V is required; `--version V` is its old spelling
    p.add_argument("version", nargs="?", type=_version, metavar="V", help="the version to show")
    p.add_argument("--version", dest="version_flag", type=_version, metavar="V", help=argparse.SUPPRESS)

    p = command("new", "create the next version folder with up.sql and down.sql", options=_FILES_ONLY)
    p.add_argument("name", help="what the version does, e.g. add_users_table (the folder's name)")
    p.add_argument(
        "--repeatable",
        action="store_true",
        help="create sql/repeatable/NAME.sql instead: a repeatable migration, run again whenever it changes",
    )
    # spelled out: importing the registry would import migrator.dialects on every --help
    p.add_argument(
        "--dialect",
        choices=("sqlite", "postgres", "mysql"),
        help="create it under sql/<dialect>/ (that dialect only)",
    )

    p = command(
        "import",
        "convert a dbmate, golang-migrate, flyway or goose folder into version "
        "folders under --dir (a new or empty folder)",
        options=_FILES_ONLY,
    )
    p.add_argument(
        "--from",
        dest="source_format",
        required=True,
        choices=("dbmate", "golang-migrate", "flyway", "goose"),
        help="the tool the folder was written for",
    )
    p.add_argument("source", metavar="SRC_DIR", help="the folder holding its migration files")
    p.add_argument("--dry-run", action="store_true", help="print what would be written; write nothing")
    p.add_argument(
        "--skip-unsupported",
        action="store_true",
        help="import the rest when some files cannot be (flyway repeatable migrations "
        "and callbacks, goose Go migrations) and list them as skipped",
    )

    command("hash", "write sql/migrator.sum", options=_FILES_ONLY)

    p = command(
        "wait",
        "wait until the database accepts connections (exit 0) or time out (exit 4)",
        options=("url", "json", "quiet", *_ENV),
    )
    p.add_argument(
        "--timeout", type=_seconds, default=60, metavar="SECONDS", help="give up after this long (default 60)"
    )

    command(
        "init",
        "create sql/ with a first migration, a commented migrator.toml and a .gitignore line "
        "for the lock file",
        options=_FILES_ONLY,
    )

    p = command("completion", "print a shell completion script", options=())
    p.add_argument("shell", choices=("bash", "zsh"), help="the shell to complete for: bash or zsh")

    p = command(
        "verify",
        "prove on a scratch database that each down.sql undoes its up.sql",
        options=(*_DATABASE, *_TARGETS, *_FILES_ONLY, "verbose", *_SESSION),
    )
    p.add_argument("--from", dest="first", type=_version, metavar="V", help="check versions from V")
    p.add_argument("--to", dest="last", type=_version, metavar="V", help="check versions up to V")
    p.add_argument(
        "--scratch-url",
        metavar="URL",
        help="an empty database to use instead of creating one; emptied afterwards, never dropped",
    )

    p = command("schema", "print the schema snapshot of the database", options=(*_DATABASE, *_FILES_ONLY))
    p.add_argument("--write", action="store_true", help="write sql/schema.<dialect>.txt")

    p = command(
        "drift",
        "compare the live schema with what its applied versions produce",
        options=(*_DATABASE, *_TARGETS, *_FILES_ONLY, "verbose", *_SESSION),
    )
    p.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="KIND:GLOB",
        help="skip objects migrations do not own, e.g. table:audit_* (repeatable)",
    )
    p.add_argument(
        "--scratch-url",
        metavar="URL",
        help="an empty database to build the expected schema in; emptied afterwards, never dropped",
    )

    p = command(
        "lint",
        "check migration files for statements that lose data or block production traffic",
        options=(*_DATABASE, *_FILES_ONLY),
    )
    p.add_argument(
        "versions",
        nargs="*",
        type=_version,
        metavar="V",
        help="check these versions (default: all, or the pending ones with --url)",
    )
    p.add_argument(
        "--measure",
        action="store_true",
        help="run the versions on a scratch database and record locks and rewrites",
    )
    p.add_argument(
        "--scratch-url",
        metavar="URL",
        help="with --measure: an empty database to measure in; emptied afterwards, never dropped",
    )
    p.add_argument(
        "--format",
        dest="format",
        choices=("text", "json", "github", "sarif"),
        default=None,
        help="text (default), json (as --json), github (workflow annotations) or sarif (2.1.0)",
    )

    p = command(
        "baseline",
        "mark versions up to V as applied without running them",
        options=(*_DATABASE, *_FILES_ONLY, "lock_timeout"),
    )
    p.add_argument("version", type=_version, metavar="V", help="the version the database is at already")
    p.add_argument("--force", action="store_true", help="even if the version table has rows")
    p.add_argument("--dry-run", action="store_true", help="print what would be recorded; write nothing")

    p = command(
        "repair",
        "accept the current files for versions; clear failed/interrupted rows",
        options=(*_DATABASE, *_FILES_ONLY, "lock_timeout"),
    )
    p.add_argument(
        "versions",
        nargs="*",
        type=_version,
        metavar="V",
        help="versions whose current files to accept, or whose failed/interrupted row to clear",
    )
    p.add_argument("--reason", default=None, help="why; recorded in the history")
    p.add_argument(
        "--mark-applied",
        type=_version,
        metavar="V",
        action="append",
        default=[],
        help="record a version a person finished by hand as applied",
    )
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument("--dry-run", action="store_true", help="print what would be repaired; write nothing")
    return parser


def _version(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a version number: {text!r}")
    return int(text)


def _seconds(text: str) -> float:
    """A finite number of seconds, 0 or more (`nan` would make a deadline that never comes)."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"needs a number of seconds, got {text!r}") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise argparse.ArgumentTypeError(f"needs a finite number of seconds, 0 or more, got {text!r}")
    return seconds


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"needs a whole number of 1 or more, got {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    code = run(sys.argv[1:] if argv is None else argv)
    sys.stdout.flush()
    return code


def run(argv: list[str]) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not args.command:  # a usage error: the help on stderr; under --json, its one document
        if args.json:
            parser.error("a command is required")
        parser.print_help(sys.stderr)
        return 2
    if not args.no_env_file:
        from migrator.config import load_env_file

        try:
            load_env_file(args.env_file)
        except MigratorError as exc:
            return _fail(args, exc, exc.exit_code)
    if os.environ.get("MIGRATOR_LOG_LEVEL", "").lower() == "debug":
        args.verbose = True
    from migrator import signals

    signals.install()
    from migrator.commands import COMMANDS

    handler: Callable[[argparse.Namespace], int] = COMMANDS[_canonical(args.command)]
    if getattr(args, "targets", None) or len(getattr(args, "url", None) or []) > 1:
        from migrator.target_commands import run_on_targets

        handler = run_on_targets
    try:
        return handler(args)
    except MigratorError as exc:  # the one family: Interrupted and DatabaseError included
        return _fail(args, exc, exc.exit_code)
    except KeyboardInterrupt:  # a signal before any run began (discovery, connecting)
        from migrator.errors import Interrupted

        stop = Interrupted("", [], signals.exit_code())
        return _fail(args, stop, stop.exit_code)


def _canonical(command: str) -> str:
    return {"migrate": "up", "rollback": "down", "show-migration": "show"}.get(command, command)


def _fail(args: argparse.Namespace, exc: MigratorError, code: int) -> int:
    from migrator.masking import mask, mask_data
    from migrator.report.text import error_text

    text = mask(str(exc))
    sys.stderr.write(error_text(f"error: {text}") + "\n")
    for note in exc.notes:
        sys.stderr.write(error_text(f"note: {mask(note)}") + "\n")
    if exc.hint:
        sys.stderr.write(error_text(f"hint: {mask(exc.hint)}") + "\n")
    if getattr(args, "json", False):
        import json

        doc = {"ok": False, "exit_code": code, **mask_data(exc.document), "error": mask_data(exc.to_dict())}
        sys.stdout.write(json.dumps(doc, default=str, indent=2) + "\n")
    return code
