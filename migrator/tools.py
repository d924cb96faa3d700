"""Small commands for scripts and new projects: wait, init, completion."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from migrator.dialects import open_dialect
from migrator.errors import ConnectError
from migrator.urls import DatabaseUrl

TOML_TEMPLATE = """\
# migrator settings; flags and MIGRATOR_* / DATABASE_URL environment variables win over these.
# url = "postgres://app@localhost:5432/app"   # default: sqlite:///migrator.db
dir = "{dir}"
# table = "schema_version"
# lock_timeout = 60            # seconds to wait for another run's lock
# lock_wait_timeout = "5s"     # how long one statement may wait for a table lock
# statement_timeout = "10min"  # how long one statement may run (no limit by default)
# write_schema = true          # rewrite sql/schema.<dialect>.txt after up and down
# ignore = ["table:audit_*"]   # objects `migrator drift` leaves alone
"""


def wait_for(url: DatabaseUrl, timeout_s: float) -> float:
    """Poll until the database accepts a connection; return the seconds it took."""
    started = time.monotonic()
    while True:
        dialect = open_dialect(url)
        try:
            dialect.connect(read_only=True, connect_timeout_s=min(5, max(1, timeout_s)))
            dialect.close()
            return time.monotonic() - started
        except ConnectError as exc:
            if time.monotonic() - started + 0.5 > timeout_s:
                raise ConnectError(f"database not ready after {timeout_s:g}s: {exc.message}",
                                   hint=exc.hint) from None
            time.sleep(0.5)


def init_project(root: Path, sql_dir: Path) -> list[Path]:
    """Create what is missing of sql/, a first migration and migrator.toml; never overwrite."""
    from migrator.scaffold import new_migration

    created: list[Path] = []
    if not sql_dir.exists() or not any(p for p in sql_dir.iterdir() if not p.name.startswith(".")):
        created.append(new_migration(sql_dir, "initial_schema"))
    toml = root / "migrator.toml"
    if not toml.exists():
        toml.write_text(TOML_TEMPLATE.format(dir=sql_dir.as_posix()), encoding="utf-8")
        created.append(toml)
    return created


def completion_script(shell: str, parser: argparse.ArgumentParser) -> str:
    """Completes commands, their options and version numbers read from the migrations folder."""
    commands: dict[str, list[str]] = {}
    globals_ = sorted(o for a in parser._actions for o in a.option_strings)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                commands[name] = sorted(o for a in sub._actions for o in a.option_strings)
    cases = "\n".join(f'    {name}) opts="{" ".join(opts)}" ;;' for name, opts in commands.items())
    script = _BASH.replace("@COMMANDS@", " ".join(commands)).replace("@CASES@", cases)
    script = script.replace("@GLOBALS@", " ".join(globals_))
    return script if shell == "bash" else "autoload -U +X bashcompinit && bashcompinit\n" + script


_BASH = r"""# migrator completion: eval "$(migrator completion bash)"
_migrator_versions() {
  local dir=sql
  ls -d "$dir"/[0-9]*_* "$dir"/*/[0-9]*_* 2>/dev/null | sed -E 's#.*/0*([0-9]+)_.*#\1#' | sort -un
}
_migrator() {
  local cur prev cmd opts i
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${COMP_WORDS[i]}" in -*) ;; *) cmd="${COMP_WORDS[i]}"; break ;; esac
  done
  case "$prev" in
    --to|--version|--from|--mark-applied|show|baseline|repair)
      COMPREPLY=($(compgen -W "$(_migrator_versions)" -- "$cur")); return ;;
  esac
  if [ -z "$cmd" ]; then
    COMPREPLY=($(compgen -W "@COMMANDS@ @GLOBALS@" -- "$cur")); return
  fi
  case "$cmd" in
@CASES@
    *) opts="" ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -F _migrator migrator
"""
