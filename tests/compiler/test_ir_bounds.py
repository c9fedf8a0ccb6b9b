"""The IR resolves each column's bounds once (Table.bounds) and the targets write those numbers;
what a target cannot carry is reported by its unsupported(ir), never silently."""
from __future__ import annotations

import json

import pytest

from generator.emit import openapi, pydantic, zod
from generator.emit.unsupported import Collector, Unsupported, UnsupportedError, report
from generator.ir.bounds import Bounds, resolve
from generator.ir.build import build_ir
from generator.ir.snapshot import dump_ir, load_snapshot
from generator.sqltypes import INTEGER_RANGE, parse_type

FIELDS = [
    {"name": "code", "type": "varchar(20)", "check": {"max_length": 50, "min_length": 2, "pattern": "^[a-z]+$"}},
    {"name": "short", "type": "varchar(20)", "check": {"max_length": 10}},
    {"name": "free", "type": "text", "check": {"max_length": 30}},
    {"name": "small", "type": "smallint", "check": {"min": -100000, "max": 7}},
    {"name": "count", "type": "integer", "check": {"min": 3}},
    {"name": "big", "type": "bigint"},
    {"name": "amount", "type": "numeric(5,2)", "check": {"min": 0}},
    {"name": "huge", "type": "numeric(400,0)"},
    {"name": "tags", "type": "varchar(8)[]"},
    {"name": "flag", "type": "boolean"},
]


@pytest.fixture(scope="module")
def ir():
    # Built without the validator, which refuses a max_length past the varchar length: the IR must
    # still take the smaller of the two.
    spec = {"project": {"name": "p", "version": "1.0.0"},
            "entities": [{"name": "thing", "scope": "global", "fields": FIELDS}]}
    roles = {"roles": [{"name": "member"}], "permissions": {"thing": {"select": {"role": "member"}}}}
    return build_ir(spec, roles)


@pytest.fixture(scope="module")
def table(ir):
    return ir.entity_table("thing")


def test_text_takes_the_smaller_of_max_length_and_the_varchar_length(table):
    assert table.bounds("code") == Bounds(min_length=2, max_length=20, pattern="^[a-z]+$")
    assert table.bounds("short").max_length == 10
    assert table.bounds("free").max_length == 30


def test_integers_are_clamped_to_their_type(table):
    assert (table.bounds("small").minimum, table.bounds("small").maximum) == (-(2**15), 7)
    assert (table.bounds("count").minimum, table.bounds("count").maximum) == (3, 2**31 - 1)
    assert (table.bounds("big").minimum, table.bounds("big").maximum) == INTEGER_RANGE["bigint"]


def test_numeric_precision_gives_exclusive_bounds_while_a_double_holds_them(table):
    amount = table.bounds("amount")
    assert (amount.minimum, amount.maximum) == (0, None)
    assert (amount.exclusive_minimum, amount.exclusive_maximum) == (-1000, 1000)
    assert table.bounds("huge") == Bounds()
    assert resolve(parse_type("numeric(30,2)"), {}).exclusive_maximum == 1e28


def test_array_bounds_are_the_element_type_s_and_other_types_have_none(table):
    assert table.bounds("tags") == Bounds(max_length=8)
    assert table.bounds("flag") == Bounds() and table.bounds("id") == Bounds()


def test_every_target_writes_the_resolved_numbers(ir, table):
    ts = zod.render_zod_ts(ir)
    assert "code: z.string().min(2).max(20).regex(" in ts and "short: z.string().max(10)" in ts
    assert "small: z.int().min(-32768).max(7)" in ts
    assert f"big: z.int().min({-(2**53 - 1)}).max({2**53 - 1})" in ts  # JavaScript's safe integers
    assert "amount: z.number().min(0).gt(-1000).lt(1000)" in ts
    props = openapi.table_schemas(table)["app.thing.Row"]["properties"]
    assert props["code"]["maxLength"] == 20 and props["short"]["maxLength"] == 10
    assert (props["small"]["minimum"], props["small"]["maximum"]) == (-32768, 7)
    assert props["amount"]["exclusiveMaximum"] == 1000 and "exclusiveMaximum" not in props["huge"]
    models = pydantic.render_models(ir)
    assert 'min_length=2, max_length=20, pattern="^[a-z]+$"' in models
    assert "ge=-32768, le=7" in models and "max_length=10)" in models


def test_snapshots_neither_carry_the_bounds_nor_lose_them(ir):
    text = dump_ir(ir)
    assert "bounds" not in text and "exclusive_maximum" not in text
    loaded = load_snapshot(text).ir
    assert loaded == ir
    for old, new in zip(ir.tables, loaded.tables):
        assert all(old.bounds(c.name) == new.bounds(c.name) for c in old.columns)
    assert "bounds" not in json.dumps(ir.to_dict())


def test_targets_report_what_they_narrow_or_drop(ir):
    by_where = {(u.target, u.where, u.level) for u in zod.unsupported(ir) + openapi.unsupported(ir)
                + pydantic.unsupported(ir)}
    assert ("zod", "app.thing.big", "warn") in by_where  # narrowed to safe integers
    assert ("zod", "app.thing.huge", "warn") in by_where  # 10^400 is past a double
    assert ("zod", "app.thing.amount", "ignore") in by_where  # scale: the database rounds
    assert ("openapi", "app.thing.huge", "warn") in by_where
    assert ("pydantic", "app.thing.tags", "warn") in by_where  # list[str]: elements unchecked
    assert not any(w.endswith((".code", ".small", ".flag")) for _, w, _ in by_where)


def test_report_raises_warns_and_ignores_by_level():
    out = Collector("zod")
    out.unsupported("ignore", "fine", "a")
    out.unsupported("warn", "narrowed", "b")
    seen: list[Unsupported] = []
    assert report(out.items, seen.append) == seen == [Unsupported("zod", "warn", "narrowed", "b")]
    out.unsupported("raise", "impossible", "c")
    with pytest.raises(UnsupportedError) as err:
        report(out.items)
    assert [i.where for i in err.value.items] == ["c"] and "impossible" in str(err.value)
    with pytest.raises(ValueError):
        Unsupported("zod", "loud", "x", "y")
