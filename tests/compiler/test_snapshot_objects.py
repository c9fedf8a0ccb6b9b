"""Migration snapshots record the schema objects (kind, key, phase, text, table) the planner compares;
snapshots of the first format recorded the schema SQL as text and are read through legacy_snapshot."""
from __future__ import annotations

from pathlib import Path

import pytest

from generator.emit import sql
from generator.emit.sqlobjects import from_doc, script
from generator.ir.snapshot import dump_ir, load_snapshot
from generator.migrate import folder, legacy_snapshot
from generator.migrate.plan import plan_migration
from generator.pipeline import compile_ir

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests/compiler/golden"
CASES = [ROOT, ROOT / "tests/compiler/upgrades/base"] + sorted(
    p for p in GOLDEN.iterdir() if (p / "expected").is_dir())
COMMITTED = sorted((ROOT / folder.SNAPSHOTS).glob("*.ir.json"))


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_the_baseline_is_the_join_of_its_objects_and_the_legacy_reader_keys_them_alike(case):
    ir = compile_ir(case)
    objects = sql.objects(ir)
    text = sql.render_baseline(ir)
    assert script(sql.HEADER, objects) == text
    assert legacy_snapshot.objects_of(text) == objects


def test_a_new_format_snapshot_round_trips():
    ir = compile_ir(ROOT / "tests/compiler/upgrades/base")
    objects = sql.objects(ir)
    snap = load_snapshot(dump_ir(ir, objects))
    assert snap.ir == ir and snap.schema_sql is None
    assert [from_doc(o) for o in snap.objects] == objects
    assert dump_ir(snap.ir, [from_doc(o) for o in snap.objects]) == dump_ir(ir, objects)


def _steps(steps):
    return [(s.change, s.sql, s.phase, s.unsafe) for s in steps]


@pytest.mark.parametrize("path", [COMMITTED[0], COMMITTED[-1]], ids=lambda p: p.name[:14])
def test_old_and_new_format_snapshots_plan_the_same_steps(path, tmp_path):
    """A committed (format 1) snapshot, read through the legacy reader, and the same snapshot rewritten in
    format 2 plan the same migration to the current spec; so does one the current compiler writes in each
    format."""
    assert '"schema_sql"' in path.read_text()  # the committed ones are of the first format
    current = compile_ir(ROOT)
    old = load_snapshot(path.read_text())
    legacy = legacy_snapshot.objects_of(old.schema_sql)
    rewritten = load_snapshot(dump_ir(old.ir, legacy))
    from_old = plan_migration(old.ir, current, old.schema_sql)
    assert bool(from_old) == (path != COMMITTED[-1])  # the newest one captures the current spec
    assert _steps(plan_migration(rewritten.ir, current, [from_doc(o) for o in rewritten.objects])) == _steps(from_old)
    # Through the migrations folder, both formats: written by the current compiler for the oldest IR.
    plans = []
    for text in (dump_ir(old.ir, sql.objects(old.ir)), _format_1(old.ir)):
        snapshot = tmp_path / "snap.ir.json"
        snapshot.write_text(text)
        state = folder.Folder([], {}, [], None, None, snapshot, [])
        plans.append(_steps(plan_migration(state.snapshot, current, state.snapshot_objects)))
    assert plans[0] == plans[1] == _steps(plan_migration(old.ir, current))


def _format_1(ir) -> str:
    """A snapshot as the first format wrote it: the IR and the schema SQL text."""
    import orjson
    doc = {"format": 1, "ir": ir, "schema_sql": sql.render_baseline(ir)}
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
