"""A parent that cannot be stored must not stop its children's entity (issue 14: orphaned children).

An order whose state is not in the spec's enum (here added by a module, as Odoo's `selection_add`
does) is dead-lettered; its lines become dead letters that name it, the other lines are stored and
the lines' cursor moves; replaying the order's dead letter brings its lines back too.
"""
from __future__ import annotations

import pytest

from bridge.sync.contracts import pull_order
from bridge.store.db import connect
from bridge.store.deadletters import replay
from bridge.sync.processor import Processor
from bridge.sync.pull import pull_entity, read_cursor
from tests.runtime.support import fast_client, odoo_records, table_rows

pytestmark = pytest.mark.db

STATES = [["draft", "Quotation"], ["sent", "Quotation Sent"], ["sale", "Sales Order"], ["cancel", "Cancelled"]]


def _open_dead_letters(db_url, instance_id) -> list[dict]:
    with connect(db_url) as conn:
        return conn.execute("select * from odoo.dead_letters where instance_id = %s and replayed_at is null "
                            "order by id", (instance_id,)).fetchall()


def test_an_order_that_cannot_be_stored_orphans_only_its_own_lines(db_url, instance, adapters, odoo):
    odoo.register_model({"model": "sale.order", "fields": {"state": {
        "type": "selection", "string": "Status", "default": "draft", "selection": STATES + [["done", "Locked"]]}}})
    client = fast_client(instance)
    lines = odoo_records(odoo, "sale.order.line", ["order_id"])
    by_order: dict[int, set[int]] = {}
    for lid, rec in lines.items():
        by_order.setdefault(rec["order_id"][0], set()).add(lid)
    bad = sorted(by_order, key=lambda o: -len(by_order[o]))[0]  # the order with the most lines
    orphans = by_order[bad]
    assert client.write("sale.order", [bad], {"state": "done"})

    for adapter in pull_order(adapters):  # small pages: orphans and good lines share pages
        pull_entity(db_url, instance, adapters, adapter, client, batch_size=7)

    stored = table_rows(db_url, "odoo.sale_order_lines", instance["id"])
    assert set(stored) == set(lines) - orphans, "every line of a stored order is stored"
    assert bad not in table_rows(db_url, "odoo.sale_orders", instance["id"])
    with connect(db_url) as conn:
        wd, last_id = read_cursor(conn, instance["id"], "sale_order_line")
    assert last_id == max(odoo_records(odoo, "sale.order.line", ["write_date"]).items(),
                          key=lambda kv: (kv[1]["write_date"], kv[0]))[0], "the lines' cursor reached the end"

    dls = _open_dead_letters(db_url, instance["id"])
    parent = [d for d in dls if d["odoo_model"] == "sale.order"]
    assert [int(d["record_ref"]) for d in parent] == [bad]
    children = [d for d in dls if d["odoo_model"] == "sale.order.line"]
    assert {int(d["record_ref"]) for d in children} == orphans
    for d in children:
        assert d["error_class"] == "MissingParent"
        assert f"dead letter #{parent[0]['id']}" in d["reason"] and f"sale_order {bad}" in d["reason"]

    # a second pull (its lookback re-reads everything) adds no dead letter and stores nothing more
    for adapter in pull_order(adapters):
        pull_entity(db_url, instance, adapters, adapter, client, batch_size=7)
    assert len(_open_dead_letters(db_url, instance["id"])) == len(dls)

    # the module's value is now known to the spec's enum... here: the record is fixed in Odoo instead
    with connect(db_url) as conn:
        client.write("sale.order", [bad], {"state": "sale"})
        counts = replay(conn, ids=[parent[0]["id"]], trace_id="t-orphans")
        conn.commit()
    assert counts["events"] == 1 + len(orphans), "the parent's replay takes its orphans along"
    Processor(db_url, adapters, lambda _: client).run_once()
    assert set(table_rows(db_url, "odoo.sale_order_lines", instance["id"])) == set(lines)
    assert table_rows(db_url, "odoo.sale_orders", instance["id"])[bad]["state"] == "sale"
    assert _open_dead_letters(db_url, instance["id"]) == []
    client.close()


def test_orphans_are_released_when_their_parent_is_stored_by_a_later_pull(db_url, instance, adapters, odoo):
    """No replay by hand: the order fixed in Odoo arrives with the next pull, and its lines follow."""
    odoo.register_model({"model": "sale.order", "fields": {"state": {
        "type": "selection", "string": "Status", "default": "draft", "selection": STATES + [["done", "Locked"]]}}})
    client = fast_client(instance)
    lines = odoo_records(odoo, "sale.order.line", ["order_id"])
    bad = next(iter(lines.values()))["order_id"][0]
    client.write("sale.order", [bad], {"state": "done"})
    for adapter in pull_order(adapters):
        pull_entity(db_url, instance, adapters, adapter, client)
    assert len(table_rows(db_url, "odoo.sale_order_lines", instance["id"])) < len(lines)
    client.write("sale.order", [bad], {"state": "cancel"})
    for adapter in pull_order(adapters):
        pull_entity(db_url, instance, adapters, adapter, client)
    Processor(db_url, adapters, lambda _: client).run_once()
    assert set(table_rows(db_url, "odoo.sale_order_lines", instance["id"])) == set(lines)
    # the orphans' dead letters were replayed; the order's own stays open (a dead letter is closed
    # only by a replay, as for any record stored later)
    assert [d["odoo_model"] for d in _open_dead_letters(db_url, instance["id"])] == ["sale.order"]
    client.close()
