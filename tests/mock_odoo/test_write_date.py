"""write_date as Odoo 17 keeps it: the transaction's time with microseconds in the column, whole
seconds on the wire, domains and orders on the stored value (see docs/mock-odoo.md, fidelity table)."""
from __future__ import annotations

from datetime import datetime

from mock_odoo.demo import seed_base
from mock_odoo.orm import Database, utcnow
from mock_odoo.standard import standard_registry

AT = datetime(2026, 5, 1, 10, 0, 0, 400000)


def _db(clock):
    db = Database(standard_registry(), clock=clock)
    seed_base(db)
    return db


def test_one_call_shares_one_write_date_with_microseconds():
    """create([...]) stamps every record with the call's start time, microseconds kept in storage."""
    db = _db(lambda: AT)
    env = db.env()
    ids = env.create("res.partner", [{"name": f"P{i}"} for i in range(3)])
    env.commit()
    stored = {db.table("res.partner")[i]["write_date"] for i in ids}
    assert stored == {"2026-05-01 10:00:00.400000"}
    assert {db.table("res.partner")[i]["create_date"] for i in ids} == stored


def test_rpc_sends_whole_seconds_and_domains_compare_the_stored_microseconds(odoo, server):
    """Over XML-RPC and JSON-RPC write_date is truncated; '> 10:00:00' is true and '= 10:00:00' false for
    a record written at 10:00:00.4; order by write_date follows the microseconds."""
    server.db.clock = lambda: AT
    try:
        first = odoo.x("res.partner", "create", {"name": "written at .4"})
        server.db.clock = lambda: AT.replace(microsecond=100000)
        second = odoo.x("res.partner", "create", {"name": "written at .1"})
    finally:
        server.db.clock = utcnow
    for read in (odoo.x, odoo.j):
        rows = read("res.partner", "search_read", [["id", "in", [first, second]]], ["write_date"])
        assert {r["write_date"] for r in rows} == {"2026-05-01 10:00:00"}
        assert read("res.partner", "read", [first], ["write_date"])[0]["write_date"] == "2026-05-01 10:00:00"
    mine = [["id", "in", [first, second]]]
    def found(*leaves):
        return set(odoo.x("res.partner", "search", mine + list(leaves)))
    assert found(["write_date", ">", "2026-05-01 10:00:00"]) == {first, second}
    assert found(["write_date", "=", "2026-05-01 10:00:00"]) == set()
    assert found(["write_date", "=", "2026-05-01 10:00:00.400000"]) == {first}
    assert found(["write_date", "<", "2026-05-01 10:00:01"]) == {first, second}
    assert found(["write_date", ">", "2026-05-01 10:00:00.2"]) == {first}
    # the same whole-second value read back, the newer id first: the order is by the stored value
    assert odoo.x("res.partner", "search", mine, order="write_date asc, id asc") == [second, first]
    assert odoo.x("res.partner", "search", mine, order="write_date desc, id desc") == [first, second]
    # the classic keyset served by the mock's seek agrees: nothing is '= S', everything is '> S'
    keyset = ["|", ["write_date", ">", "2026-05-01 10:00:00"], "&", ["write_date", "=", "2026-05-01 10:00:00"],
              ["id", ">", second]]
    assert odoo.x("res.partner", "search", mine + keyset, limit=10, order="write_date asc, id asc") == [second, first]
