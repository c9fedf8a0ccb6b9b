"""Many2many sync: the pull mirrors res.partner.category_id into the generated join table, in the page's
transaction, fetching tags not mirrored yet (docs/sync.md, many2many). The spec is the platform's own
plus a `tag` entity and a `tags` many2many on `partner`, built with the real compiler into a fresh
database; the Odoo is the strict mock."""
from __future__ import annotations

import shutil

import pytest
import yaml

from bridge.sync.contracts import load_adapters
from bridge.store.db import connect
from bridge.sync.pull import pull_entity
from generator.database.cluster import apply_migrations
from tests.specgen_cli import specgen
from tests.runtime.support import add_instance, fast_client, odoo_records

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def m2m_project(tmp_path_factory, repo_root):
    root = tmp_path_factory.mktemp("m2m")
    shutil.copytree(repo_root / "spec", root / "spec")
    path = root / "spec/schema/entities.yaml"
    spec = yaml.safe_load(path.read_text())
    spec["project"].update(name="m2m-sync-test", package="m2m-sync-test-contracts")
    spec["entities"].append({"name": "tag", "table": "partner_tags_list", "owner": "odoo",
                             "fields": [{"name": "name", "type": "text", "required": True}],
                             "odoo": {"model": "res.partner.category", "context": {"active_test": False},
                                      "fields": {"name": "name"}}})
    partner = next(e for e in spec["entities"] if e["name"] == "partner")
    partner["odoo"]["fields"]["tags"] = {"field": "category_id", "many2many": "tag"}
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    out = specgen("build", cwd=root)
    assert out.returncode == 0, out.stdout + out.stderr
    return root


@pytest.fixture(scope="module")
def m2m_adapters(m2m_project):
    adapters = load_adapters(m2m_project / "generated/python")
    assert adapters["partner"].many2manys, "the generated adapter declares the many2many"
    return adapters


@pytest.fixture
def m2m_db(pg_cluster, standin_template, m2m_project):
    name = pg_cluster.create_database(template=standin_template, prefix="m2m")
    url = pg_cluster.url_for(name)
    apply_migrations(url, m2m_project / "supabase/migrations")
    yield url
    pg_cluster.drop_database(name)


def _links(url, instance_id) -> dict[int, set[int]]:
    """{partner odoo id: {tag odoo id}} from the join table (every partner of the instance listed)."""
    with connect(url) as conn:
        rows = conn.execute(
            "select p.odoo_id as p, t.odoo_id as t from odoo.partners p "
            "left join odoo.partners_tags j on j.partner_id = p.id left join odoo.partner_tags_list t on t.id = j.tag_id "
            "where p.instance_id = %s", (instance_id,)).fetchall()
    out: dict[int, set[int]] = {}
    for r in rows:
        out.setdefault(r["p"], set())
        if r["t"] is not None:
            out[r["p"]].add(r["t"])
    return out


def test_pull_mirrors_many2many_and_follows_changes(m2m_db, m2m_adapters, odoo):
    instance = add_instance(m2m_db, odoo.url)
    client = fast_client(instance)
    # tags are not pulled first: every linked tag is fetched as a dependency, as a many2one's target is
    counts = pull_entity(m2m_db, instance, m2m_adapters, m2m_adapters["partner"], client, batch_size=13)
    remote = odoo_records(odoo, "res.partner", ["category_id"])
    expected = {oid: set(r["category_id"]) for oid, r in remote.items()}
    assert any(expected.values()) and not all(expected.values())
    assert _links(m2m_db, instance["id"]) == expected
    assert counts.get("dependencies_fetched", 0) > 0 and counts.get("links_skipped", 0) == 0
    with connect(m2m_db) as conn:  # the tenant column of the join table holds the instance's org
        orgs = conn.execute("select distinct org_id from odoo.partners_tags").fetchall()
    assert [r["org_id"] for r in orgs] == [instance["org_id"]]

    # Odoo changes: one partner loses a tag and gains another, one loses all, one gains its first
    tagged = sorted(oid for oid, tags in expected.items() if len(tags) >= 1)
    untagged = sorted(oid for oid, tags in expected.items() if not tags)
    new_tag = client.create("res.partner.category", {"name": "Brand new"})
    a, b, c = tagged[0], tagged[1], untagged[0]
    old_b = expected[b]
    client.write("res.partner", [a], {"category_id": [(3, sorted(expected[a])[0]), (4, new_tag)]})
    client.write("res.partner", [b], {"category_id": [(5, 0, 0)]})
    client.write("res.partner", [c], {"category_id": [(6, 0, [new_tag])]})
    with connect(m2m_db) as conn:  # links of unchanged partners must not be rewritten
        before = {r["id"] for r in conn.execute("select id from odoo.partners_tags").fetchall()}
    again = pull_entity(m2m_db, instance, m2m_adapters, m2m_adapters["partner"], client)
    remote = odoo_records(odoo, "res.partner", ["category_id"])
    expected = {oid: set(r["category_id"]) for oid, r in remote.items()}
    assert new_tag in expected[a] and not expected[b] and expected[c] == {new_tag}
    assert _links(m2m_db, instance["id"]) == expected
    with connect(m2m_db) as conn:
        after = {r["id"] for r in conn.execute("select id from odoo.partners_tags").fetchall()}
    removed = 1 + len(old_b)  # a's dropped tag and all of b's; added: a's and c's new tag
    assert len(before - after) == removed and len(after - before) == 2
    assert again["links_changed"] == removed + 2
    client.close()


def test_a_tag_that_cannot_be_stored_is_left_out(m2m_db, m2m_adapters, odoo):
    """A linked tag that has an open dead letter is not fetched again: the link is left out (as an
    optional many2one to it would be NULL) and counted; the partner itself is stored."""
    instance = add_instance(m2m_db, odoo.url)
    client = fast_client(instance)
    remote = odoo_records(odoo, "res.partner", ["category_id"])
    oid, rec = next((k, r) for k, r in remote.items() if r["category_id"])
    tag = rec["category_id"][0]
    from bridge.store import deadletters
    with connect(m2m_db) as conn:
        deadletters.add(conn, source="pull", instance_id=instance["id"], entity="tag",
                        odoo_model="res.partner.category", record_ref=tag, payload={"id": tag},
                        reason="test", error_class="ValidationError", attempts=1, trace_id="0" * 32)
    counts = pull_entity(m2m_db, instance, m2m_adapters, m2m_adapters["partner"], client)
    links = _links(m2m_db, instance["id"])
    assert oid in links and tag not in links[oid]
    assert links[oid] == set(rec["category_id"]) - {tag}
    skipped = sum(1 for r in remote.values() if tag in r["category_id"])
    assert counts["links_skipped"] == skipped
    client.close()
