"""migrator.dialects.registry: every dialect's entry names code that exists, and reading the
registry costs start-up nothing but plain data."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from migrator.dialects import lexrules, registry
from migrator.dialects.registry import DIALECTS, spec


@pytest.mark.parametrize("dialect", DIALECTS)
def test_each_entry_names_code_that_exists(dialect: str) -> None:
    entry = spec(dialect)
    assert registry.dialect_class(dialect).name == dialect
    assert callable(importlib.import_module(entry.snapshot).read)
    if entry.backup:
        dumper = registry.load(entry.backup)
        assert dumper.tools and callable(dumper.argv) and callable(dumper.restore)
    else:
        assert entry.file_database  # without a dump tool the database is a file to copy


@pytest.mark.parametrize("dialect", DIALECTS)
def test_each_scheme_chooses_its_dialect(dialect: str) -> None:
    for scheme in spec(dialect).schemes:
        assert registry.dialect_of_scheme(scheme) == dialect
    assert spec(dialect).url_example.startswith(spec(dialect).schemes[0] + "://")


def test_block_rules_are_ones_the_lexer_knows() -> None:
    from migrator.lexer import _BLOCK_RULES

    known = set(lexrules.BlockRule.__args__)  # type: ignore[attr-defined]
    assert set(_BLOCK_RULES) == known
    assert {spec(d).lex.blocks for d in DIALECTS} <= known | {None}


def test_an_unknown_dialect_is_a_value_error_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown dialect 'oracle'; expected one of sqlite, postgres, mysql"):
        spec("oracle")


def test_importing_the_registry_loads_no_driver_no_lexer_and_compiles_no_regex() -> None:
    probe = (
        "import re, sys\n"
        "compiled = []\n"
        "real = re.compile\n"
        "def spy(*a, **k):\n"
        "    if sys._getframe(1).f_globals['__name__'].startswith('migrator'):\n"
        "        compiled.append(a[0])\n"
        "    return real(*a, **k)\n"
        "re.compile = spy\n"
        "import migrator.dialects.registry\n"
        "loaded = {m for m in sys.modules if m.split('.')[0] in ('psycopg', 'mysql', 'rich')\n"
        "          or m in ('migrator.lexer', 'migrator.snapshot', 'migrator.backup')}\n"
        "print(sorted(loaded), compiled)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] []"
