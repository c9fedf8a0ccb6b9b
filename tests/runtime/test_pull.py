"""Pull from the mock Odoo into PostgreSQL: cursor, bulk upsert, many2one, archived, tombstones."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bridge.sync.pull import pull_entity, reconcile_entity
from tests.runtime.support import fast_client, odoo_records, table_rows

pytestmark = pytest.mark.db


def _pull_all(db_url, instance, adapters, client, **kw):
    from bridge.sync.contracts import pull_order
    out = {}
    for adapter in pull_order(adapters):
        out[adapter.entity] = pull_entity(db_url, instance, adapters, adapter, client, **kw)
    return out


def test_pull_mirrors_every_partner_with_fields_parents_and_archived(db_url, instance, adapters, odoo):
    """Mirrored partners match Odoo field for field, archived ones and parent links included."""
    client = fast_client(instance)
    counts = pull_entity(db_url, instance, adapters, adapters["partner"], client, batch_size=17)
    remote = odoo_records(odoo, "res.partner", ["name", "email", "phone", "is_company", "parent_id", "vat", "city", "active"])
    local = table_rows(db_url, "odoo.partners", instance["id"])
    assert set(local) == set(remote)
    assert counts["batches"] > 3
    assert any(not r["active"] for r in remote.values()) and any(not r["active"] for r in local.values())
    by_uuid = {r["id"]: oid for oid, r in local.items()}
    for oid, rec in remote.items():
        row = local[oid]
        assert row["name"] == rec["name"] and row["email"] == (rec["email"] or None)
        assert row["active"] == rec["active"] and row["vat"] == (rec["vat"] or None)
        expected_parent = rec["parent_id"][0] if rec["parent_id"] else None
        assert (by_uuid[row["parent_id"]] if row["parent_id"] else None) == expected_parent
        assert row["org_id"] == instance["org_id"]
    client.close()


def test_second_pull_reads_only_the_lookback_window_and_changes_nothing(db_url, instance, adapters, odoo):
    """A repeated pull neither duplicates nor rewrites rows (idempotent upsert, cursor kept)."""
    client = fast_client(instance)
    pull_entity(db_url, instance, adapters, adapters["partner"], client)
    before = table_rows(db_url, "odoo.partners", instance["id"])
    again = pull_entity(db_url, instance, adapters, adapters["partner"], client)
    after = table_rows(db_url, "odoo.partners", instance["id"])
    assert again.get("inserted", 0) == 0 and again.get("updated", 0) == 0
    assert {k: v["updated_at"] for k, v in before.items()} == {k: v["updated_at"] for k, v in after.items()}
    client.close()


def test_changes_in_odoo_arrive_on_the_next_pull(db_url, instance, adapters, odoo):
    """An Odoo edit and a new record show up after the next pull; numerics arrive as exact decimals."""
    client = fast_client(instance)
    _pull_all(db_url, instance, adapters, client)
    pid = client.search("res.partner", [["is_company", "=", True]], limit=1)[0]
    client.write("res.partner", [pid], {"city": "Ghent", "email": False})
    new_id = client.create("res.partner", {"name": "Fresh Partner", "parent_id": pid})
    prod = client.search("product.product", [["sale_ok", "=", True]], limit=1)[0]
    client.write("product.product", [prod], {"list_price": 12.1})
    _pull_all(db_url, instance, adapters, client)
    partners = table_rows(db_url, "odoo.partners", instance["id"])
    assert partners[pid]["city"] == "Ghent" and partners[pid]["email"] is None
    assert partners[new_id]["parent_id"] == partners[pid]["id"]
    assert table_rows(db_url, "odoo.products", instance["id"])[prod]["list_price"] == Decimal("12.10")
    client.close()


def test_all_entities_pull_with_their_many2ones_resolved(db_url, instance, adapters, odoo):
    """Orders, lines and invoices point at the right mirrored partners/products/orders."""
    client = fast_client(instance)
    _pull_all(db_url, instance, adapters, client)
    orders = table_rows(db_url, "odoo.sale_orders", instance["id"])
    lines = table_rows(db_url, "odoo.sale_order_lines", instance["id"])
    partners = table_rows(db_url, "odoo.partners", instance["id"])
    remote_lines = odoo_records(odoo, "sale.order.line", ["order_id", "product_id"])
    assert orders and lines and set(lines) == set(remote_lines)
    order_by_uuid = {r["id"]: k for k, r in orders.items()}
    for oid, rec in remote_lines.items():
        assert order_by_uuid[lines[oid]["order_id"]] == rec["order_id"][0]
    remote_orders = odoo_records(odoo, "sale.order", ["partner_id", "state", "date_order"])
    p_by_uuid = {r["id"]: k for k, r in partners.items()}
    for oid, rec in remote_orders.items():
        assert p_by_uuid[orders[oid]["partner_id"]] == rec["partner_id"][0]
        assert orders[oid]["state"] == rec["state"]
        assert orders[oid]["date_order"].strftime("%Y-%m-%d %H:%M:%S") == rec["date_order"]
    client.close()


def test_reconcile_tombstones_records_deleted_in_odoo(db_url, instance, adapters, odoo):
    """A partner deleted in Odoo gets odoo_deleted_at locally instead of lingering as live."""
    client = fast_client(instance)
    pull_entity(db_url, instance, adapters, adapters["partner"], client)
    victim = client.create("res.partner", {"name": "Short Lived"})
    pull_entity(db_url, instance, adapters, adapters["partner"], client)
    client.unlink("res.partner", [victim])
    counts = reconcile_entity(db_url, instance, adapters, adapters["partner"], client)
    rows = table_rows(db_url, "odoo.partners", instance["id"])
    assert counts["tombstoned"] == 1
    assert rows[victim]["odoo_deleted_at"] is not None
    assert sum(1 for r in rows.values() if r["odoo_deleted_at"]) == 1
    client.close()


def test_concurrent_pull_of_the_same_entity_is_skipped_by_the_advisory_lock(db_url, instance, adapters, odoo):
    """Two workers never pull the same (instance, entity) at once: the second one backs off."""
    from bridge.store import db
    client = fast_client(instance)
    holder = db.connect(db_url)
    assert db.try_lock(holder, "pull", instance["id"], "partner")
    counts = pull_entity(db_url, instance, adapters, adapters["partner"], client)
    assert counts.get("locked") == 1 and not table_rows(db_url, "odoo.partners", instance["id"])
    db.unlock(holder, "pull", instance["id"], "partner")
    holder.close()
    assert "locked" not in pull_entity(db_url, instance, adapters, adapters["partner"], client)
    client.close()


def test_mirror_mappings_can_be_written_for_odoo_owned_entities(db_url, instance, adapters, odoo):
    """With SPECGEN_SYNC_MIRROR_MAPPINGS=1 every pulled partner also gets its odoo.entity_mappings row."""
    from bridge.settings import MIRROR_MAPPINGS_ENV, Settings
    assert Settings.from_environ({MIRROR_MAPPINGS_ENV: "1"}).mirror_mappings
    assert not Settings.from_environ({}).mirror_mappings
    client = fast_client(instance)
    pull_entity(db_url, instance, adapters, adapters["partner"], client, mirror_mappings=True)
    from bridge.store.db import connect
    with connect(db_url) as conn:
        bad = conn.execute("""select count(*) as n from odoo.partners p left join odoo.entity_mappings m
                              on m.entity = 'partner' and m.odoo_id = p.odoo_id and m.local_id = p.id
                              where m.id is null""").fetchone()["n"]
        n = conn.execute("select count(*) as n from odoo.entity_mappings where entity='partner'").fetchone()["n"]
    assert bad == 0 and n == len(table_rows(db_url, "odoo.partners", instance["id"]))
    client.close()


def test_a_parent_written_after_its_child_is_fetched_while_pages_are_pipelined(db_url, instance, adapters, odoo):
    """A child whose parent sorts into a later page (a late commit) still links to it: the page that
    holds the child falls back from the pipelined path to the ordinary upsert, which fetches the parent."""
    client = fast_client(instance)
    parent = client.create("res.partner", {"name": "Parent written last", "is_company": True})
    odoo.faults = "res.partner/create: late_commit=1, lag=315360000"  # ten years: before the demo data
    child = client.create("res.partner", {"name": "Child with an older stamp", "parent_id": parent})
    odoo.faults = None
    counts = pull_entity(db_url, instance, adapters, adapters["partner"], client, batch_size=5)
    assert counts["dependencies_fetched"] >= 1
    local = table_rows(db_url, "odoo.partners", instance["id"])
    assert local[child]["parent_id"] == local[parent]["id"]
    remote = odoo_records(odoo, "res.partner", ["parent_id"])
    by_uuid = {r["id"]: oid for oid, r in local.items()}
    assert set(local) == set(remote)
    assert {oid: (by_uuid[r["parent_id"]] if r["parent_id"] else None) for oid, r in local.items()} == \
        {oid: (r["parent_id"][0] if r["parent_id"] else None) for oid, r in remote.items()}
    client.close()


def test_prepared_references_wait_for_their_targets(db_url, instance, adapters, odoo):
    """With defer_missing, a target not stored yet gets a placeholder; the rows cannot be written until
    complete() has replaced it with the target's real id."""
    from bridge.store.db import connect
    from bridge.sync.upsert import Context, complete, prepare, upsert, write
    client = fast_client(instance)
    adapter = adapters["partner"]
    parent_id = client.create("res.partner", {"name": "Parent", "is_company": True})
    child_id = client.create("res.partner", {"name": "Child", "parent_id": parent_id})
    fields = adapter.odoo_fields()
    parent, child = client.read("res.partner", [parent_id], fields), client.read("res.partner", [child_id], fields)
    ctx = Context(instance, adapters, client, "0" * 32)
    with connect(db_url) as conn:
        prepared = prepare(conn, ctx, adapter, child, defer_missing=True)
        placeholder = prepared.rows[0]["parent_id"]
        assert prepared.pending == {placeholder: ("partner", parent_id)}
        with pytest.raises(ValueError, match="placeholder"):
            write(conn, ctx, prepared)
        assert complete(conn, ctx, prepared) is False  # the parent is nowhere in the database yet
        upsert(conn, ctx, adapter, parent)
        conn.commit()
        assert complete(conn, ctx, prepared) is True and prepared.pending == {}
        write(conn, ctx, prepared)
        conn.commit()
    local = table_rows(db_url, "odoo.partners", instance["id"])
    assert local[child_id]["parent_id"] == local[parent_id]["id"] != placeholder
    client.close()


def test_copy_text_encoding_round_trips_through_postgres(db_url):
    """The COPY text the pull encodes ahead of its write reads back as the values it came from:
    escapes (tab, newline, CR, backslash), NULL, booleans, numerics, dates, timestamps, uuids, jsonb."""
    import datetime as dt
    import uuid
    from decimal import Decimal
    from bridge.store.db import connect
    from bridge.sync.upsert import _copy_cell
    rows = [
        ("tab\there", "line\nbreak\r\n", "back\\slash \\N", "Łódź ☃ 𝄞", Decimal("12345.678"), True, dt.date(2024, 2, 29),
         dt.datetime(2024, 5, 1, 10, 0, 1, tzinfo=dt.timezone.utc), uuid.UUID(int=7), {"k": ["v\t", 1, None]}, 3),
        (None, "", "\\", "\\t", Decimal("-0.5"), False, None, None, None, None, -2147483648),
    ]
    data = "".join("\t".join(_copy_cell(v) for v in row) + "\n" for row in rows).encode()
    with connect(db_url) as conn:
        conn.execute("create temp table rt (a text, b text, c text, d text, e numeric, f boolean, g date, "
                     "h timestamptz, i uuid, j jsonb, k integer)")
        with conn.cursor() as cur, cur.copy("copy rt from stdin") as copy:
            copy.write(data)
        back = [tuple(r.values()) for r in conn.execute("select * from rt order by k desc").fetchall()]
    assert back == rows


def test_typed_copy_encoders_read_back_as_the_rows_in_every_mirror_staging_table(db_url, adapters):
    """The per-column encoders chosen from each adapter's column types (text escapes, NULL, booleans,
    numerics, dates, timestamps, uuids) write COPY text that PostgreSQL reads back, into the entity's
    real staging table, as exactly the row values, and agree cell for cell with the general encoder."""
    import uuid
    from hypothesis import HealthCheck, given, settings, strategies as st
    from bridge.store.db import connect
    from bridge.sync.upsert import Prepared, _copy_cell, _stage, bulk_columns, encode_copy
    text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12) \
        | st.sampled_from(["\\N", "a\tb", "x\ny\r\n", "\\", "Łódź ☃"])
    by_type = {
        "text": text, "varchar": text.map(lambda t: t[:30]), "boolean": st.booleans(),
        "numeric": st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
        "date": st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 1, 1)),
        "timestamptz": st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1),
                                    timezones=st.just(dt.timezone.utc)),
        "uuid": st.uuids().map(str), "integer": st.integers(-2**31, 2**31 - 1),
    }
    mirrors = [a for a in adapters.values() if a.owner == "odoo"]
    enums = {"sale_order": ["draft", "sale"], "invoice": ["draft", "posted"]}

    def column_type(adapter, name):
        fm = next((f for f in adapter.fields if f.column == name), None)
        if fm is None:
            return {"odoo_id": "integer", "odoo_write_date": "timestamptz"}.get(name, "uuid")
        return "uuid" if fm.kind == "many2one" else fm.type

    with connect(db_url) as conn:
        enum_values = {r["t"]: r["v"] for r in conn.execute(
            "select t.typname as t, array_agg(e.enumlabel order by e.enumsortorder) as v "
            "from pg_enum e join pg_type t on t.oid = e.enumtypid group by t.typname").fetchall()}

        def rows_for(adapter):
            fields = {}
            for name in bulk_columns(adapter):
                kind = column_type(adapter, name)
                if kind == "enum":
                    udt = conn.execute("select udt_name from information_schema.columns where table_schema = %s "
                                       "and table_name = %s and column_name = %s",
                                       (adapter.schema, adapter.table, name)).fetchone()["udt_name"]
                    strategy = st.sampled_from(enum_values[udt])
                else:
                    strategy = by_type[kind]
                fields[name] = st.none() | strategy
            return st.lists(st.fixed_dictionaries(fields), min_size=1, max_size=4)

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        @given(st.sampled_from(mirrors).flatmap(lambda a: st.tuples(st.just(a), rows_for(a))))
        def check(case):
            adapter, rows = case
            names = bulk_columns(adapter)
            prepared = Prepared(adapter, rows, rows, [])
            encode_copy(prepared)
            general = "".join("\t".join(_copy_cell(r[n]) for n in names) + "\n" for r in rows).encode()
            assert prepared.copy_data == general
            stage = _stage(conn, adapter)
            with conn.cursor() as cur:
                cur.execute(f"truncate {stage}")
                with cur.copy(f"copy {stage} ({', '.join(names)}) from stdin") as copy:
                    copy.write(prepared.copy_data)
            back = conn.execute(f"select {', '.join(names)} from {stage}").fetchall()
            conn.rollback()
            norm = [{n: (str(v) if isinstance(v, uuid.UUID) else v) for n, v in r.items()} for r in back]
            assert norm == rows
        check()


def test_a_parent_stored_by_someone_else_while_its_page_waited_is_resolved_again(db_url, instance, adapters, odoo,
                                                                               monkeypatch):
    """A page is prepared before it is written. If meanwhile another writer (the webhook processor) stores
    a parent that the page holds too, the page's provisional id for it is stale: the write fails on the
    foreign key, rolls back to its savepoint, and the page is resolved again and written; nothing fails."""
    from bridge.sync import pull as pull_module
    from bridge.store.db import connect
    client = fast_client(instance)
    parent = client.create("res.partner", {"name": "Parent Raced", "is_company": True})
    child = client.create("res.partner", {"name": "Child Raced", "parent_id": parent})
    real_prepare = pull_module.prepare

    def racing_prepare(conn, ctx, adapter, records, **kw):
        prepared = real_prepare(conn, ctx, adapter, records, **kw)
        if any(r["id"] == parent for r in records):
            with connect(db_url) as other:
                other.execute("insert into odoo.partners (org_id, instance_id, odoo_id, name, is_company, active) "
                              "values (%s, %s, %s, 'Parent Raced', true, true)",
                              (instance["org_id"], instance["id"], parent))
        return prepared
    monkeypatch.setattr(pull_module, "prepare", racing_prepare)
    counts = pull_entity(db_url, instance, adapters, adapters["partner"], client, batch_size=500)
    assert counts["pages_resolved_again"] == 1 and counts["batches"] == 1
    local = table_rows(db_url, "odoo.partners", instance["id"])
    assert local[child]["parent_id"] == local[parent]["id"]
    assert counts["inserted"] == len(local) - 1 and counts["updated"] == 1  # the raced parent was updated
    client.close()


def test_a_pull_told_to_stop_finishes_the_page_in_flight_and_resumes_from_its_cursor(db_url, instance, adapters, odoo):
    """Shutdown (SIGTERM sets should_stop): the page being written commits with its cursor, nothing
    after it is written, and the next pull carries on from there without re-inserting anything."""
    from bridge.sync.pull import read_cursor
    from bridge.store.db import connect
    client = fast_client(instance)
    first = pull_entity(db_url, instance, adapters, adapters["partner"], client, batch_size=10,
                        should_stop=lambda: True)
    assert first["stopped_early"] == 1 and first["batches"] == 1 and first["read"] == 10
    assert len(table_rows(db_url, "odoo.partners", instance["id"])) == first["inserted"] == 10
    with connect(db_url) as conn:
        wd, last_id = read_cursor(conn, instance["id"], "partner")
    # (T, 0): everything before the page's last second T is done; T itself is read again (bridge/sync/cursor.py)
    assert wd is not None and last_id == 0
    rest = pull_entity(db_url, instance, adapters, adapters["partner"], client, batch_size=10, lookback=dt.timedelta(0))
    remote = odoo_records(odoo, "res.partner", ["name"])
    assert set(table_rows(db_url, "odoo.partners", instance["id"])) == set(remote)
    assert rest["inserted"] == len(remote) - 10 and "stopped_early" not in rest
    client.close()
