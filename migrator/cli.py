"""Command line: argparse -> settings -> Migrator -> reporter -> exit status (SPEC §6)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from migrator import __version__
from migrator.errors import MigratorError


class _ArgParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own usage errors: exit 2 with a hint
        self.print_usage(sys.stderr)
        hint = "`migrator --help` lists commands and options"
        sys.stderr.write(f"error: {message}\nhint: {hint}\n")
        if "--json" in sys.argv[1:]:  # one JSON document on stdout, also for a bad command line
            import json

            error = {"kind": "usage", "message": message, "hint": hint}
            sys.stdout.write(json.dumps({"ok": False, "exit_code": 2, "error": error}) + "\n")
        raise SystemExit(2)


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    g = parser.add_argument_group("global options")
    g.add_argument(
        "--url",
        default=default,
        action="append",
        help="database URL (else MIGRATOR_URL, DATABASE_URL, migrator.toml, "
        "sqlite:///migrator.db); repeat it to run on several databases",
    )
    g.add_argument(
        "--targets",
        default=default,
        metavar="FILE",
        help="run on every target listed in FILE (`URL [schema=NAME]` per line)",
    )
    g.add_argument(
        "--parallel", default=default, type=_positive, metavar="N", help="targets at once (default 4)"
    )
    g.add_argument(
        "--continue-on-error",
        action="store_true",
        default=default or False,
        help="keep starting targets after one failed",
    )
    g.add_argument("--dir", default=default, help="migrations folder (default sql)")
    g.add_argument("--table", default=default, help="version table (default schema_version)")
    g.add_argument(
        "--json", action="store_true", default=default or False, help="one JSON document on stdout"
    )
    g.add_argument("-q", "--quiet", action="store_true", default=default or False, help="errors only")
    g.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default or False,
        help="print every statement with its duration",
    )
    g.add_argument(
        "--lock-timeout",
        default=default,
        metavar="SECONDS",
        help="wait at most this long for migrator's lock (default 60)",
    )
    g.add_argument(
        "--lock-wait-timeout",
        default=default,
        metavar="D",
        help="how long one statement may wait for a table lock (5s, 1min)",
    )
    g.add_argument(
        "--statement-timeout",
        default=default,
        metavar="D",
        help="how long one statement may run (no limit by default)",
    )
    g.add_argument(
        "--batch-pause",
        default=default,
        metavar="D",
        help="wait this long between the batches of a `batch` file",
    )


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
    _global_options(parser, suppress=False)
    parser.add_argument("--version", action="version", version=f"migrator {__version__}")
    parser.add_argument(
        "--env-file",
        metavar="PATH",
        help="read MIGRATOR_* and DATABASE_URL from this file (default .env); the real environment wins",
    )
    parser.add_argument("--no-env-file", action="store_true", help="do not read .env")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_ArgParser)

    def command(name: str, help_text: str, aliases: tuple[str, ...] = ()) -> Any:
        p = sub.add_parser(name, help=help_text, aliases=list(aliases), description=help_text)
        if named is not None and named.isdisjoint((name, *aliases)):
            return _NotOnTheCommandLine()
        _global_options(p, suppress=True)
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

    p = command("redo", "roll back the latest version and apply it again")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")

    p = command("restore", "restore a backup migrator took into the database at --url")
    p.add_argument("file", metavar="FILE", help="a backup file from --backup-dir (default backups/)")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")

    p = command("status", "current version, pending versions, drift summary")
    p.add_argument("--exit-code", action="store_true", help="exit 5 when versions are pending")
    command("pending", "list pending versions (exit 0)")
    command("history", "every up, down, baseline and repair")

    p = command("validate", "check the database (or with --offline, migrator.sum) against the files")
    p.add_argument("--offline", action="store_true", help="compare files with sql/migrator.sum only")
    p.add_argument("--strict", action="store_true", help="a changed down.sql is an error too")
    p.add_argument(
        "--schema-file",
        action="store_true",
        help="also check sql/schema.<dialect>.txt against what the migrations produce",
    )

    p = command("show", "effective SQL, checksums and state of one version", aliases=("show-migration",))
    p.add_argument("version", nargs="?", type=_version)
    p.add_argument("--version", dest="version_flag", type=_version, metavar="V", help=argparse.SUPPRESS)

    p = command("new", "create the next version folder with up.sql and down.sql")
    p.add_argument("name")
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

    command("hash", "write sql/migrator.sum")

    p = command("wait", "wait until the database accepts connections (exit 0) or time out (exit 4)")
    p.add_argument("--timeout", type=float, default=60, metavar="SECONDS")

    command("init", "create sql/ with a first migration and a commented migrator.toml")

    p = command("completion", "print a shell completion script")
    p.add_argument("shell", choices=("bash", "zsh"))

    p = command("verify", "prove on a scratch database that each down.sql undoes its up.sql")
    p.add_argument("--from", dest="first", type=_version, metavar="V", help="check versions from V")
    p.add_argument("--to", dest="last", type=_version, metavar="V", help="check versions up to V")
    p.add_argument(
        "--scratch-url",
        metavar="URL",
        help="an empty database to use instead of creating one on the --url server",
    )

    p = command("schema", "print the schema snapshot of the database")
    p.add_argument("--write", action="store_true", help="write sql/schema.<dialect>.txt")

    p = command("drift", "compare the live schema with what its applied versions produce")
    p.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="KIND:GLOB",
        help="skip objects migrations do not own, e.g. table:audit_* (repeatable)",
    )
    p.add_argument("--scratch-url", metavar="URL")

    p = command("baseline", "mark versions up to V as applied without running them")
    p.add_argument("version", type=_version)
    p.add_argument("--force", action="store_true", help="even if the version table has rows")
    p.add_argument("--dry-run", action="store_true")

    p = command("repair", "accept the current files for versions; clear failed/interrupted rows")
    p.add_argument("versions", nargs="*", type=_version, metavar="V")
    p.add_argument("--reason", default=None, help="why; recorded in the history")
    p.add_argument(
        "--mark-applied",
        type=_version,
        metavar="V",
        action="append",
        default=[],
        help="record a version a person finished by hand as applied",
    )
    p.add_argument("--yes", "-y", action="store_true")
    p.add_argument("--dry-run", action="store_true")
    return parser


def _version(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a version number: {text!r}")
    return int(text)


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
    if not args.command:
        parser.print_help()
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

        stop = Interrupted("up", [], signals.exit_code())
        return _fail(args, stop, stop.exit_code)


def _canonical(command: str) -> str:
    return {"migrate": "up", "rollback": "down", "show-migration": "show"}.get(command, command)


def _fail(args: argparse.Namespace, exc: MigratorError, code: int) -> int:
    from migrator.masking import mask, mask_data

    text = mask(str(exc))
    sys.stderr.write(f"error: {text}\n")
    if exc.hint:
        sys.stderr.write(f"hint: {mask(exc.hint)}\n")
    if getattr(args, "json", False):
        import json

        doc = {"ok": False, "exit_code": code, "error": mask_data(exc.to_dict())}
        sys.stdout.write(json.dumps(doc, default=str, indent=2) + "\n")
    return code
