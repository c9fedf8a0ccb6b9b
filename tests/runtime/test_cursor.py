"""The pull's cursor at Odoo's one-second granularity (bridge/sync/cursor.py).

Odoo 17 keeps write_date's microseconds and sends whole seconds; the strict mock does the same. One
create([...]) of several pages shares one write_date: it must be pulled completely, resumed mid-second,
and a page that does not move the cursor must fail the run instead of looping."""
from __future__ import annotations

import datetime as dt

import pytest

from bridge.sync import cursor as keyset
from bridge.store.db import connect
from mock_odoo.server import MockOdooServer
from bridge.sync.pull import pull_entity
from tests.runtime.support import add_instance, fast_client, table_rows

S = dt.datetime(2026, 5, 1, 10, 0, 0, tzinfo=dt.timezone.utc)
WIRE = "2026-05-01 10:00:00"


def _page(ids, stamp=WIRE):
    return [{"id": i, "write_date": stamp} for i in ids]


def test_a_second_is_drained_by_id_and_then_the_scan_moves_on():
    """A full page all in one second switches to draining it by id; a short drain goes to the next second."""
    pos = keyset.Position(S)
    assert pos.domain([["x", "=", 1]]) == [["write_date", ">=", WIRE], ["x", "=", 1]]
    save, pos = keyset.advance(pos, _page([5, 3, 9]), 3)  # ordered by stored microseconds: ids unordered
    assert save == (S, 0) and pos == keyset.Position(S, 0, drain=True)
    assert pos.domain([]) == [["write_date", ">=", WIRE], ["write_date", "<", "2026-05-01 10:00:01"], ["id", ">", 0]]
    assert pos.order == "id asc"
    save, pos = keyset.advance(pos, _page([3, 5, 9]), 3)
    assert save == (S, 9) and pos == keyset.Position(S, 9, drain=True)
    save, pos = keyset.advance(pos, _page([11]), 3)
    assert save == (S, 11) and pos == keyset.Position(S + keyset.SECOND)
    # a scan page reaching into a later second re-reads that second from its start, never skips it
    save, pos = keyset.advance(pos, _page([1, 2]) + _page([40], "2026-05-01 10:00:07"), 3)
    assert save == (S + dt.timedelta(seconds=7), 0) and pos == keyset.Position(S + dt.timedelta(seconds=7))
    assert keyset.advance(pos, _page([40, 2], "2026-05-01 10:00:07"), 3) == ((S + dt.timedelta(seconds=7), 40), None)


def test_a_full_page_that_does_not_move_the_cursor_fails_loudly():
    with pytest.raises(keyset.PaginationStuck, match="did not move the pull cursor"):
        keyset.advance(keyset.Position(S, 9, drain=True), _page([7, 8, 9]), 3)
    with pytest.raises(keyset.PaginationStuck):  # a scan answered with records before its bound
        keyset.advance(keyset.Position(S + keyset.SECOND), _page([1, 2, 3]), 3)


def _calls_budget(client, budget):
    """Fail (instead of hanging) when the pull reads more pages than a correct cursor needs."""
    original, calls = client.search_read, {"n": 0}

    def counted(*args, **kwargs):
        if args and args[0] == "res.partner" and kwargs.get("limit") != 1:
            calls["n"] += 1
            assert calls["n"] <= budget, f"{calls['n']} pages read: the pull is looping on one write_date"
        return original(*args, **kwargs)
    client.search_read = counted
    return calls


@pytest.mark.db
def test_one_create_of_several_pages_with_microseconds_is_pulled_and_resumed_mid_second(db_url, adapters):
    """170 partners from one create([...]) share one write_date (with microseconds, shown as a whole
    second); with pages of 40 all arrive once, also when the first run stops mid-second and the next one
    resumes from the stored cursor without lookback."""
    with MockOdooServer(demo=0) as odoo:
        instance = add_instance(db_url, odoo.url)
        client = fast_client(instance)
        ids = client.execute_kw("res.partner", "create", [[{"name": f"Burst {i}"} for i in range(170)]])
        stored = {odoo.db.table("res.partner")[i]["write_date"] for i in ids}
        assert len(stored) == 1 and len(next(iter(stored))) == 26  # one stamp, microseconds kept
        calls = _calls_budget(client, 40)
        first = pull_entity(db_url, instance, adapters, adapters["partner"], client, batch_size=40, max_batches=3)
        assert first["batches"] == 3
        with connect(db_url) as conn:
            mid = conn.execute("select last_write_date, last_id from odoo.sync_cursors where entity='partner'").fetchone()
        assert 0 < mid["last_id"] < max(ids)  # stopped inside the second
        pull_entity(db_url, instance, adapters, adapters["partner"], client, batch_size=40,
                    lookback=dt.timedelta(0))
        rows = table_rows(db_url, "odoo.partners", instance["id"])
        assert set(ids) <= set(rows) and len(rows) == len(set(rows))
        with connect(db_url) as conn:
            end = conn.execute("select last_write_date, last_id from odoo.sync_cursors where entity='partner'").fetchone()
        assert end["last_id"] == max(ids) and end["last_write_date"] == mid["last_write_date"]
        # a rerun with the default lookback reads the burst again and finishes (no loop), nothing duplicated
        pull_entity(db_url, instance, adapters, adapters["partner"], client, batch_size=40)
        assert len(table_rows(db_url, "odoo.partners", instance["id"])) == len(rows)
        assert calls["n"] <= 40
        client.close()


@pytest.mark.db
def test_an_odoo_that_ignores_the_cursor_fails_the_run_instead_of_looping(db_url, adapters):
    """A server that answers the same full page whatever the domain: the run fails with a clear error."""
    with MockOdooServer(demo=0) as odoo:
        instance = add_instance(db_url, odoo.url)
        client = fast_client(instance)
        client.execute_kw("res.partner", "create", [[{"name": f"Same {i}"} for i in range(30)]])
        original = client.search_read

        def ignoring_cursor(model, domain, *args, **kwargs):
            if kwargs.get("limit") == 1:
                return original(model, domain, *args, **kwargs)
            return original(model, [], *args, **{**kwargs, "order": "id asc"})
        client.search_read = ignoring_cursor
        _calls_budget(client, 10)
        with pytest.raises(keyset.PaginationStuck):
            pull_entity(db_url, instance, adapters, adapters["partner"], client, batch_size=10)
        with connect(db_url) as conn:
            run = conn.execute("select status, error from ops.runs where kind='pull' order by started_at desc limit 1"
                               ).fetchone()
        assert run["status"] == "failed" and "did not move the pull cursor" in run["error"]
        client.close()
