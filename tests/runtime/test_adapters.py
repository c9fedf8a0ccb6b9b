"""Conversions between Odoo values and rows, and validation through the generated pydantic models."""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from hypothesis import given, strategies as st

from bridge.adapters import FieldMap, format_odoo_datetime, parse_odoo_datetime
from bridge.sync.contracts import load_adapters, pull_order
from tests.runtime import project

ADAPTERS = load_adapters(project.generated() / "python")


def test_generated_adapters_import_and_pull_targets_first():
    """The generated adapters load, and partners are pulled before the entities pointing at them."""
    names = [a.entity for a in pull_order(ADAPTERS)]
    assert set(names) == {"partner", "product", "sale_order", "sale_order_line", "invoice", "contact"}
    assert names.index("partner") < names.index("sale_order") < names.index("sale_order_line")
    assert FieldMap(column="a", odoo_field="b") == FieldMap(column="a", odoo_field="b")


def test_odoo_false_becomes_null_but_boolean_false_stays_false():
    """Empty Odoo values (False) are NULL in the row, except real booleans."""
    partner = ADAPTERS["partner"]
    row = partner.from_odoo({"id": 3, "name": "X", "email": False, "phone": False, "is_company": False,
                             "parent_id": False, "vat": False, "city": False, "active": False})
    assert row == {"name": "X", "email": None, "phone": None, "is_company": False, "parent_id": None,
                   "vat": None, "city": None, "active": False}


def test_many2one_selection_datetime_and_numeric_conversions_both_ways():
    """many2one via mappings, selection, naive-UTC datetimes and Decimal amounts survive a round trip."""
    order = ADAPTERS["sale_order"]
    pid = str(uuid.uuid4())
    rec = {"id": 9, "name": "S00009", "partner_id": [42, "Azure"], "state": "sale",
           "date_order": "2024-05-01 10:00:00", "amount_total": 115.1}
    row = order.from_odoo(rec, lambda target, oid: pid if (target, oid) == ("partner", 42) else None)
    assert row == {"name": "S00009", "partner_id": pid, "state": "sale",
                   "date_order": dt.datetime(2024, 5, 1, 10, tzinfo=dt.timezone.utc), "amount_total": Decimal("115.1")}
    back = order.to_odoo(row, lambda target, local: 42 if local == pid else None)
    assert back == {"name": "S00009", "partner_id": 42, "state": "sale", "date_order": "2024-05-01 10:00:00",
                    "amount_total": 115.1}
    assert order.to_odoo({**row, "partner_id": None, "date_order": None})["partner_id"] is False


def test_validation_reports_bad_rows_without_blocking_good_ones():
    """A record breaking the contract (too long VAT, missing name) is flagged; its batch-mates pass."""
    partner = ADAPTERS["partner"]
    base = {"org_id": str(uuid.uuid4()), "instance_id": str(uuid.uuid4()), "is_company": False, "active": True}
    errors = partner.validate([{**base, "name": "ok", "odoo_id": 1}, {**base, "name": "v", "vat": "x" * 40, "odoo_id": 2},
                               {**base, "name": None, "odoo_id": 3}])
    assert errors[0] is None and "vat" in errors[1] and "name" in errors[2]


@given(st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2200, 1, 1)).map(lambda d: d.replace(microsecond=0)))
def test_odoo_datetime_round_trip(value):
    """Any whole-second UTC time survives Odoo's string format and back."""
    aware = value.replace(tzinfo=dt.timezone.utc)
    assert parse_odoo_datetime(format_odoo_datetime(aware)) == aware


@given(st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=2, allow_nan=False))
def test_monetary_values_arrive_as_exact_decimals(amount):
    """A float amount from Odoo becomes the Decimal it prints as, not a binary approximation."""
    product = ADAPTERS["product"]
    row = product.from_odoo({"name": "p", "list_price": float(amount), "active": True})
    assert row["list_price"] == Decimal(str(float(amount)))


def test_validation_keeps_the_insert_models_rules_for_every_value_that_came_from_odoo():
    """The row validator is built from the insert model's own field definitions: every mapped scalar and
    selection column, odoo_id and odoo_write_date keep their types, lengths, ranges and validators; only
    the uuids the sync sets itself (id, org_id, instance_id, resolved many2ones) are left out."""
    for adapter in ADAPTERS.values():
        model = adapter.insert_model
        derived = adapter._list_adapter().core_schema["items_schema"]["cls"]
        skipped = {"id", "org_id", "instance_id"} | {f.column for f in adapter.many2ones()}
        wanted = {c for c in [*adapter.columns(), "odoo_id", "odoo_write_date"] if c not in skipped}
        assert wanted <= set(derived.model_fields), adapter.entity
        for name in derived.model_fields:
            assert name not in skipped
            mine, theirs = derived.model_fields[name], model.model_fields[name]
            assert (mine.annotation, mine.metadata, mine.is_required()) == \
                   (theirs.annotation, theirs.metadata, theirs.is_required()), (adapter.entity, name)
    order = ADAPTERS["sale_order"]
    ok = {"name": "S1", "state": "sale", "odoo_id": 1, "partner_id": "not checked: the sync resolved it",
          "odoo_write_date": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)}
    errors = order.validate([ok, {**ok, "state": "bogus"}, {**ok, "odoo_id": 2**31},
                             {**ok, "odoo_write_date": 1700000000}, {**ok, "odoo_write_date": dt.datetime(2024, 1, 1)},
                             {**ok, "amount_total": "12x"}])
    assert errors[0] is None
    assert [e.split(":")[0] for e in errors[1:]] == ["state", "odoo_id", "odoo_write_date", "odoo_write_date",
                                                       "amount_total"]
