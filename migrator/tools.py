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
    """Poll until the database accepts a connection; return the seconds it took. Gives up only
    once the whole timeout has passed: the last attempt is made at its end."""
    started = time.monotonic()
    deadline = started + timeout_s
    while True:
        dialect = open_dialect(url)
        left = deadline - time.monotonic()
        try:
            dialect.connect(read_only=True, connect_timeout_s=min(5, max(1, left)))
            dialect.close()
            return time.monotonic() - started
        except ConnectError as exc:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ConnectError(
                    f"database not ready after {timeout_s:g}s: {exc.message}", hint=exc.hint
                ) from None
            time.sleep(min(0.5, left))


def init_project(root: Path, sql_dir: Path) -> list[tuple[str, Path]]:
    """Create what is missing of sql/, a first migration and migrator.toml, and make
    .gitignore cover the lock file; never overwrite. Returns (what was done, path) pairs."""
    from migrator.scaffold import ignore_lock_files, new_migration

    done: list[tuple[str, Path]] = []
    if not sql_dir.exists() or not any(p for p in sql_dir.iterdir() if not p.name.startswith(".")):
        done.append(("created", new_migration(sql_dir, "initial_schema")))
    toml = root / "migrator.toml"
    if not toml.exists():
        toml.write_text(TOML_TEMPLATE.format(dir=sql_dir.as_posix()), encoding="utf-8")
        done.append(("created", toml))
    ignored = ignore_lock_files(root)
    if ignored:
        done.append((ignored, root / ".gitignore"))
    return done


def completion_script(shell: str, parser: argparse.ArgumentParser) -> str:
    """Completes commands, their options, option values (versions read from the migrations
    folder, folders, files, choices) and positional versions (`show 3`, `repair 2 3`)."""
    from migrator.cli import _version

    def kind(action: argparse.Action) -> str:
        if action.type is _version:
            return "version"
        if action.choices:
            return "choice:" + " ".join(map(str, action.choices))
        if action.dest in ("dir", "backup_dir"):
            return "dir"
        return "file" if action.metavar in ("FILE", "PATH") else "none"

    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    parsers = {"": parser, **subparsers.choices}  # "": before the command
    options: dict[str, list[str]] = {}
    values: dict[tuple[str, str], str] = {}  # (command, option taking a value) -> its kind
    positional: dict[str, tuple[str, bool]] = {}  # command -> kind of its positional, repeated?
    for name, sub in parsers.items():
        options[name] = sorted(o for a in sub._actions for o in a.option_strings)
        for action in sub._actions:
            if action.option_strings and action.nargs != 0:
                values.update({(name, o): kind(action) for o in action.option_strings})
            elif not action.option_strings and action.dest not in ("help", "command"):
                positional[name] = (kind(action), action.nargs == "*")
    value_cases = []
    for value_kind in sorted(set(values.values())):
        keys = sorted(k for k, v in values.items() if v == value_kind)
        everywhere = {o for _, o in keys if all((n, o) in keys for n in parsers)}
        patterns = [f"*:{o}" for o in sorted(everywhere)]
        patterns += [f"{n}:{o}" for n, o in keys if o not in everywhere]
        value_cases.append(f'    {"|".join(patterns)}) echo "{value_kind}" ;;')
    positional_cases = [
        f'    {name}) {"" if many else "[ $n -eq 0 ] && "}echo "{k}" ;;'
        for name, (k, many) in positional.items()
        if k != "none"
    ]
    empty = "''"  # the case label for "no command yet"
    option_cases = [f'    {name or empty}) opts="{" ".join(opts)}" ;;' for name, opts in options.items()]
    script = (
        _BASH.replace("@COMMANDS@", " ".join(subparsers.choices))
        .replace("@VALUE_CASES@", "\n".join(value_cases))
        .replace("@POSITIONAL_CASES@", "\n".join(positional_cases))
        .replace("@OPTION_CASES@", "\n".join(option_cases))
    )
    if shell == "bash":
        return script
    return _ZSH_PREAMBLE + script.replace(_BASH_USAGE, _ZSH_USAGE)


_BASH_USAGE = '# migrator completion: eval "$(migrator completion bash)"'
_ZSH_USAGE = '# migrator completion: eval "$(migrator completion zsh)"'
# zsh runs the bash function through bashcompinit, which needs compinit's compdef.
_ZSH_PREAMBLE = """\
(( ${+functions[compdef]} )) || { autoload -U +X compinit && compinit; }
autoload -U +X bashcompinit && bashcompinit
"""

# Plain POSIX-ish bash: zsh's bashcompinit runs it in sh emulation (0-based arrays, no
# BASH_REMATCH), so no [[ =~ ]] and no bash-only parameter expansions.
_BASH = r"""# migrator completion: eval "$(migrator completion bash)"
_migrator_dir() {  # the migrations folder as migrator finds it: --dir, MIGRATOR_DIR, config, sql
  local i word dir=""
  for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
    [ "$i" -eq "$COMP_CWORD" ] && continue
    word="${COMP_WORDS[i]}"
    case "$word" in
      --dir=*) dir="${word#--dir=}" ;;
      --dir) if [ "${COMP_WORDS[i+1]}" = "=" ]; then dir="${COMP_WORDS[i+2]}"
             else dir="${COMP_WORDS[i+1]}"; fi ;;
    esac
  done
  [ -z "$dir" ] && dir="${MIGRATOR_DIR:-}"
  local value="^[[:space:]]*dir[[:space:]]*=[[:space:]]*[\"']([^\"']*)[\"'].*"
  if [ -z "$dir" ] && [ -f migrator.toml ]; then
    dir=$(sed -n -E "s/$value/\1/p" migrator.toml | head -n 1)
  elif [ -z "$dir" ] && [ -f pyproject.toml ]; then
    dir=$(awk '/^[[:space:]]*\[/ { on = ($0 ~ /^[[:space:]]*\[tool\.migrator\]/) } on' pyproject.toml \
          | sed -n -E "s/$value/\1/p" | head -n 1)
  fi
  case "$dir" in "~"/*) dir="$HOME/${dir#"~/"}" ;; esac
  echo "${dir:-sql}"
}
_migrator_versions() {  # version numbers of the folders in the migrations folder and its dialect folders
  local dir folder name  # not `path`: zsh ties it to PATH
  dir=$(_migrator_dir)
  for folder in "$dir"/[0-9]*_*/ "$dir"/*/[0-9]*_*/; do
    [ -d "$folder" ] || continue
    folder="${folder%/}"
    name="${folder##*/}"
    name="${name%%_*}"
    case "$name" in ""|*[!0-9]*) continue ;; esac
    echo "$name"
  done | sed -E 's/^0+([0-9])/\1/' | sort -un
}
_migrator_value_kind() {  # $1 command ("" before it), $2 option: what value it takes; 1 if none
  case "$1:$2" in
@VALUE_CASES@
    *) return 1 ;;
  esac
}
_migrator_positional_kind() {  # $1 command, $2 positionals already given
  local n="$2"
  case "$1" in
@POSITIONAL_CASES@
  esac
}
_migrator_reply() {  # $1 kind, $2 the word being completed
  case "$1" in
    version) COMPREPLY=($(compgen -W "$(_migrator_versions)" -- "$2")) ;;
    choice:*) COMPREPLY=($(compgen -W "${1#choice:}" -- "$2")) ;;
    dir) type compopt >/dev/null 2>&1 && compopt -o filenames 2>/dev/null
         COMPREPLY=($(compgen -d -- "$2")) ;;
    file) type compopt >/dev/null 2>&1 && compopt -o filenames 2>/dev/null
          COMPREPLY=($(compgen -f -- "$2")) ;;
    *) COMPREPLY=() ;;
  esac
}
_migrator() {
  local cur prev word cmd="" n=0 i opts kind
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  # `--to=` splits into `--to` `=` where COMP_WORDBREAKS holds `=`
  if [ "$cur" = "=" ]; then cur=""
  elif [ "$prev" = "=" ]; then prev="${COMP_WORDS[COMP_CWORD-2]}"; fi
  # The command is the first word that is neither an option nor an option's value.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="${COMP_WORDS[i]}"
    if _migrator_value_kind "$cmd" "$word" >/dev/null; then
      i=$((i + 1))
      [ "${COMP_WORDS[i]}" = "=" ] && i=$((i + 1))
      continue
    fi
    case "$word" in
      -*|=) ;;
      *) if [ -z "$cmd" ]; then cmd="$word"; else n=$((n + 1)); fi ;;
    esac
  done
  if kind=$(_migrator_value_kind "$cmd" "$prev"); then
    _migrator_reply "$kind" "$cur"; return
  fi
  case "$cur" in
    -*) ;;
    *)
      if [ -z "$cmd" ]; then
        COMPREPLY=($(compgen -W "@COMMANDS@" -- "$cur")); return
      fi
      kind=$(_migrator_positional_kind "$cmd" "$n")
      if [ -n "$kind" ]; then _migrator_reply "$kind" "$cur"; return; fi ;;
  esac
  case "$cmd" in
@OPTION_CASES@
    *) opts="" ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -F _migrator migrator
"""
