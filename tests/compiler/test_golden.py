"""Golden cases: each folder under tests/compiler/golden/ is a spec in and the expected tree (or errors) out.

Adding coverage means adding a folder. A valid case holds `expected/` (what `specgen build` writes
under generated/, baseline stamped 20260101000000); an invalid one holds `expected_errors.txt`
(what `specgen check` prints on stderr). After reviewing a deliberate change, rewrite them with:

    SPECGEN_UPDATE_GOLDEN=1 python -m pytest tests/compiler/test_golden.py
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.database.cluster import apply_sql
from generator.emit import functions
from generator.pipeline import compile_ir, render_all
from generator.writer import compare, existing_files, write

GOLDEN = Path(__file__).parent / "golden"
STAMP = "20260101000000"
UPDATE = os.environ.get("SPECGEN_UPDATE_GOLDEN") == "1"
UPDATE_HINT = "if the change is intended, review it and run: SPECGEN_UPDATE_GOLDEN=1 python -m pytest tests/compiler/test_golden.py"

VALID = sorted(p.name for p in GOLDEN.iterdir() if (p / "expected").is_dir() or (UPDATE and p.name[:4] != "bad_"))
INVALID = sorted(p.name for p in GOLDEN.iterdir() if p.name.startswith("bad_"))


def test_golden_cases_exist():
    """The suite has both kinds of case, so an empty folder cannot pass silently."""
    assert len(VALID) >= 3 and len(INVALID) >= 20


@pytest.mark.parametrize("case", VALID)
def test_valid_spec_produces_the_expected_tree(case):
    """A valid spec renders byte for byte the reviewed tree, with no file missing or extra."""
    rendered = render_all(compile_ir(GOLDEN / case), STAMP)
    # the Edge Functions' runtime is copied verbatim from generator/templates/functions: the tree keeps
    # what the spec decides (spec.ts), and each copy must be its template, byte for byte
    copies = {p: t for p, t in rendered.items() if functions.runtime_copy(p) is not None}
    assert all(functions.runtime_copy(p) == t for p, t in copies.items())
    files = {p: t for p, t in rendered.items() if p not in copies}
    expected = GOLDEN / case / "expected"
    if UPDATE:
        shutil.rmtree(expected, ignore_errors=True)
        write(expected, files)
    drift = compare(expected, files, owned=existing_files(expected))  # every file there is the reviewed tree
    assert drift.clean, drift.report(lambda p: f"tests/compiler/golden/{case}/expected/{p}") + "\n" + UPDATE_HINT


@pytest.mark.parametrize("case", INVALID)
def test_invalid_spec_fails_check_with_the_expected_errors(case):
    """An invalid spec exits 2 and prints exactly the reviewed file:line:col diagnostics."""
    result = CliRunner().invoke(cli, ["check", "-C", str(GOLDEN / case)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    path = GOLDEN / case / "expected_errors.txt"
    if UPDATE:
        path.write_text(result.stderr)
    assert result.stderr == path.read_text(), UPDATE_HINT


@pytest.mark.db
@pytest.mark.parametrize("case", VALID)
def test_golden_migration_applies_to_supabase_standin(case, supabase_db):
    """Every golden baseline is valid SQL that PostgreSQL accepts after the Supabase stand-in."""
    migration = GOLDEN / case / "expected" / "supabase" / "migrations" / f"{STAMP}_baseline.sql"
    apply_sql(supabase_db, migration.read_text())
