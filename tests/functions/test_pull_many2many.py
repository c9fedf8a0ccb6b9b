"""Many2many pull through sync-from-odoo: res.partner.category_id mirrored into the generated join table in
the page's transaction (links added and removed as Odoo's sets change, a tag not pulled yet fetched as a
dependency, then pulled itself without a second row), and the same join rows, tags and run counts as the
Python pull of the same Odoo records. The project of tests/runtime/test_many2many.py (a `tag` entity and a
`tags` many2many on `partner`), its functions rendered from its own spec, as test_push_many2many.py does."""
from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import pytest

from bridge.store import deadletters
from bridge.store.db import connect
from bridge.sync.contracts import pull_order
from bridge.sync.pull import pull_entity
from generator.database.cluster import apply_migrations
from tests.functions.support import render_functions
from tests.functions.pull_support import GENERATED, INSTANCE_ID, ORG_ID, add_fixed_instance, invoke, serve_pull
from tests.functions.test_pull import runs
from tests.runtime.conftest import odoo  # noqa: F401 (fixture)
from tests.runtime.support import fast_client, odoo_records, runtime_settings
from tests.runtime.test_many2many import m2m_adapters, m2m_project  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.deno, pytest.mark.db]

TABLES = ("odoo.partners", "odoo.partner_tags_list")


@pytest.fixture(scope="module")
def m2m_functions(m2m_project):  # noqa: F811
    root = Path(tempfile.mkdtemp(prefix="specgen-m2m-pull-functions-"))
    yield render_functions(m2m_project, root)
    shutil.rmtree(root, True)


@pytest.fixture
def m2m_dbs(pg_cluster, standin_template, m2m_project):  # noqa: F811
    names = [pg_cluster.create_database(template=standin_template, prefix="m2mfn") for _ in range(2)]
    urls = [pg_cluster.url_for(n) for n in names]
    for url in urls:
        apply_migrations(url, m2m_project / "supabase/migrations")
    yield urls
    for n in names:
        pg_cluster.drop_database(n)


def links(url: str) -> dict[int, set[int]]:
    """{partner odoo id: {tag odoo id}} from the join table (every partner listed)."""
    out: dict[int, set[int]] = {}
    with connect(url) as conn:
        for r in conn.execute(
                "select p.odoo_id as p, t.odoo_id as t from odoo.partners p "
                "left join odoo.partners_tags j on j.partner_id = p.id "
                "left join odoo.partner_tags_list t on t.id = j.tag_id").fetchall():
            out.setdefault(r["p"], set())
            if r["t"] is not None:
                out[r["p"]].add(r["t"])
    return out


def join_rows(url: str) -> list[tuple]:
    """Every join row, every column but its own id and timestamps, the rows it joins as their odoo ids."""
    with connect(url) as conn:
        rows = conn.execute(
            "select j.*, p.odoo_id as p_odoo, t.odoo_id as t_odoo from odoo.partners_tags j "
            "left join odoo.partners p on p.id = j.partner_id left join odoo.partner_tags_list t on t.id = j.tag_id"
        ).fetchall()
    return sorted(tuple(sorted((k, v) for k, v in r.items() if k not in GENERATED | {"partner_id", "tag_id"}))
                  for r in rows)


def mirror(url: str) -> dict:
    """The partners and tags by odoo id (every column but the generated ones; a row it points at as that
    row's odoo id), the join rows, dead letters and cursors."""
    out: dict = {}
    with connect(url) as conn:
        odoo_of = {}
        tables = {t: conn.execute(f"select * from {t}").fetchall() for t in TABLES}
        for t, rows in tables.items():
            odoo_of.update({r["id"]: (t, r["odoo_id"]) for r in rows})
        for t, rows in tables.items():
            out[t] = {r["odoo_id"]: {k: odoo_of.get(v, v) if k.endswith("_id") and k not in ("org_id", "instance_id")
                                     else v for k, v in r.items() if k not in GENERATED} for r in rows}
        out["dead_letters"] = sorted((d["entity"], d["record_ref"], d["reason"]) for d in
                                     conn.execute("select * from odoo.dead_letters").fetchall())
        out["cursors"] = sorted((c["entity"], c["last_write_date"], c["last_id"]) for c in
                                conn.execute("select * from odoo.sync_cursors").fetchall())
    out["join"] = join_rows(url)
    return out


def remote_links(odoo) -> dict[int, set[int]]:  # noqa: F811
    return {oid: set(r["category_id"]) for oid, r in odoo_records(odoo, "res.partner", ["category_id"]).items()}


def change_links(client, expected: dict[int, set[int]]) -> int:
    """Odoo changes: a partner loses a tag and gains a new one (not pulled yet), one loses all, one gains
    its first. Returns the new tag's id."""
    tagged = sorted(oid for oid, tags in expected.items() if tags)
    untagged = sorted(oid for oid, tags in expected.items() if not tags)
    new_tag = client.create("res.partner.category", {"name": "Brand new"})
    a, b, c = tagged[0], tagged[1], untagged[0]
    client.write("res.partner", [a], {"category_id": [(3, sorted(expected[a])[0]), (4, new_tag)]})
    client.write("res.partner", [b], {"category_id": [(5, 0, 0)]})
    client.write("res.partner", [c], {"category_id": [(6, 0, [new_tag])]})
    return new_tag


def partner_result(answer: dict) -> dict:
    (inst,) = answer["instances"]
    (result,) = [e for e in inst["entities"] if e["entity"] == "partner"]
    assert result["status"] == "done", answer
    return result


def test_the_function_mirrors_many2many_and_follows_changes(m2m_dbs, odoo, m2m_functions):  # noqa: F811
    _, url = m2m_dbs
    add_fixed_instance(url, odoo.url)
    client = fast_client({"base_url": odoo.url, "database": "odoo", "login": "admin", "secret_ref": "X"},
                         settings=runtime_settings(X="admin"))
    function = serve_pull(url, functions=m2m_functions, SPECGEN_FUNCTION_LOOKBACK_S="1")
    try:
        # the partners before the tags: every linked tag is fetched as a dependency
        partner_result(invoke(function, entity="partner", batch_size=13))
        expected = remote_links(odoo)
        assert any(expected.values()) and not all(expected.values())
        assert links(url) == expected
        with connect(url) as conn:
            counts = conn.execute("select counts from ops.runs where kind = 'pull' and entity = 'partner'").fetchone()["counts"]
            orgs = {r["org_id"] for r in conn.execute("select distinct org_id from odoo.partners_tags").fetchall()}
            before = {r["id"] for r in conn.execute("select id from odoo.partners_tags").fetchall()}
            tags_before = conn.execute("select count(*) as n from odoo.partner_tags_list").fetchone()["n"]
        assert counts.get("dependencies_fetched", 0) > 0 and counts.get("links_skipped", 0) == 0
        assert orgs == {ORG_ID}  # the join table's tenant column holds the instance's org

        old = expected
        new_tag = change_links(client, expected)
        partner_result(invoke(function, entity="partner"))
        expected = remote_links(odoo)
        assert new_tag in expected[sorted(o for o, t in old.items() if t)[0]]
        assert links(url) == expected  # added, removed, a target not pulled yet (fetched)
        with connect(url) as conn:
            after = {r["id"] for r in conn.execute("select id from odoo.partners_tags").fetchall()}
            counts = conn.execute("select counts from ops.runs where kind = 'pull' and entity = 'partner' "
                                  "order by started_at desc limit 1").fetchone()["counts"]
        b = sorted(o for o, t in old.items() if t)[1]
        removed = 1 + len(old[b])  # a's dropped tag and all of b's; added: a's and c's new tag
        assert len(before - after) == removed and len(after - before) == 2  # the others were not rewritten
        assert counts["links_changed"] == removed + 2

        # then the tags themselves: the one fetched as a dependency is updated in place, links unchanged
        client.write("res.partner.category", [new_tag], {"name": "Brand new, renamed"})
        invoke(function, entity="tag")
        with connect(url) as conn:
            named = conn.execute("select name from odoo.partner_tags_list where odoo_id = %s", (new_tag,)).fetchall()
            tags_after = conn.execute("select count(*) as n from odoo.partner_tags_list").fetchone()["n"]
        assert [r["name"] for r in named] == ["Brand new, renamed"]
        assert tags_after == len(odoo_records(odoo, "res.partner.category", ["name"])) >= tags_before + 1
        assert links(url) == expected
    finally:
        function.stop()
        client.close()


def test_a_tag_that_cannot_be_stored_is_left_out(m2m_dbs, odoo, m2m_functions):  # noqa: F811
    """A linked tag with an open dead letter is not fetched again: the link is left out and counted."""
    _, url = m2m_dbs
    add_fixed_instance(url, odoo.url)
    remote = remote_links(odoo)
    oid, tags = next((k, t) for k, t in sorted(remote.items()) if t)
    tag = sorted(tags)[0]
    with connect(url) as conn:
        deadletters.add(conn, source="pull", instance_id=INSTANCE_ID, entity="tag", odoo_model="res.partner.category",
                        record_ref=tag, payload={"id": tag}, reason="test", error_class="ValidationError", attempts=1,
                        trace_id="0" * 32)
    function = serve_pull(url, functions=m2m_functions)
    try:
        partner_result(invoke(function, entity="partner"))
    finally:
        function.stop()
    got = links(url)
    assert got[oid] == tags - {tag}
    with connect(url) as conn:
        counts = conn.execute("select counts from ops.runs where kind = 'pull' and entity = 'partner'").fetchone()["counts"]
    assert counts["links_skipped"] == sum(1 for t in remote.values() if tag in t)


def test_the_same_links_through_both_runtimes(m2m_dbs, odoo, m2m_functions, m2m_adapters):  # noqa: F811
    py_db, fn_db = m2m_dbs
    py_inst = add_fixed_instance(py_db, odoo.url)
    add_fixed_instance(fn_db, odoo.url)
    client = fast_client(py_inst)
    function = serve_pull(fn_db, functions=m2m_functions, SPECGEN_FUNCTION_LOOKBACK_S="1")
    try:
        # the partners alone first (tags fetched as dependencies), then everything
        pull_entity(py_db, py_inst, m2m_adapters, m2m_adapters["partner"], client, batch_size=13)
        partner_result(invoke(function, entity="partner", batch_size=13))
        assert mirror(fn_db) == mirror(py_db)
        change_links(client, remote_links(odoo))
        for a in pull_order(m2m_adapters):
            pull_entity(py_db, py_inst, m2m_adapters, a, client, lookback=dt.timedelta(seconds=1))
        answer = invoke(function)
        assert answer["status"] == "done", answer
    finally:
        function.stop()
        client.close()
    py, fn = mirror(py_db), mirror(fn_db)
    assert py["join"] and links(py_db) == remote_links(odoo)
    for key in py:
        assert fn[key] == py[key], key
    # the same runs with the same counts, but for "pages_resolved_again": the Python pull prepares a page
    # while the previous one is written (bridge/sync/pull.py _Pages), and a page holding a partner the
    # previous page fetched as a parent is resolved again; the function writes its pages one after another
    def pipeline_free(rs):
        return [(*r[:3], {k: v for k, v in r[3].items() if k != "pages_resolved_again"}, r[4]) for r in rs]
    assert pipeline_free(runs(fn_db)) == pipeline_free(runs(py_db))
