"""Many2many push: the app changing a shared entity's join rows reaches Odoo as the record's whole set,
``(6, 0, ids)`` (docs/sync.md, many2many). The spec is the platform's own plus a shared `tag` entity
(res.partner.category) and a `tags` many2many on the shared `contact`, built with the real compiler into
a fresh database; the Odoo is the strict mock."""
from __future__ import annotations

import shutil

import pytest
import yaml

from bridge.sync.contracts import load_adapters
from bridge.store.db import connect
from bridge.sync.pull import pull_entity
from bridge.sync.push import Pusher
from generator.database.cluster import apply_migrations
from tests.specgen_cli import specgen
from tests.runtime.support import add_instance, fast_client

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def push_project(tmp_path_factory, repo_root):
    root = tmp_path_factory.mktemp("m2mpush")
    shutil.copytree(repo_root / "spec", root / "spec")
    path = root / "spec/schema/entities.yaml"
    spec = yaml.safe_load(path.read_text())
    spec["project"].update(name="m2m-push-test", package="m2m-push-test-contracts")
    spec["entities"].append({"name": "tag", "table": "tags", "owner": "shared",
                             "fields": [{"name": "name", "type": "text", "required": True}],
                             "odoo": {"model": "res.partner.category", "fields": {"name": "name"},
                                      "sync": {"direction": "both", "conflict": "odoo_wins"}}})
    contact = next(e for e in spec["entities"] if e["name"] == "contact")
    contact["odoo"]["fields"]["tags"] = {"field": "category_id", "many2many": "tag"}
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    out = specgen("build", cwd=root)
    assert out.returncode == 0, out.stdout + out.stderr
    return root


@pytest.fixture(scope="module")
def push_adapters(push_project):
    adapters = load_adapters(push_project / "generated/python")
    assert adapters["contact"].many2manys and adapters["contact"].pushes()
    return adapters


@pytest.fixture
def push_db(pg_cluster, standin_template, push_project):
    name = pg_cluster.create_database(template=standin_template, prefix="m2mpush")
    url = pg_cluster.url_for(name)
    apply_migrations(url, push_project / "supabase/migrations")
    yield url
    pg_cluster.drop_database(name)


@pytest.fixture
def setup(push_db, push_adapters, odoo):
    """An instance with tags and contacts pulled, a pusher and a client."""
    instance = add_instance(push_db, odoo.url)
    client = fast_client(instance)
    for entity in ("tag", "contact"):
        pull_entity(push_db, instance, push_adapters, push_adapters[entity], client)
    pusher = Pusher(push_db, push_adapters, lambda inst: client, retry_base=0.0)
    yield push_db, instance, client, pusher
    client.close()


def drain(pusher, rounds=10) -> dict:
    total: dict = {}
    for _ in range(rounds):
        for k, v in pusher.run_once(limit=50).items():
            total[k] = total.get(k, 0) + v
        with connect(pusher.url) as conn:
            if not conn.execute("select 1 from odoo.outbox where status in ('pending','processing')").fetchone():
                break
            conn.execute("update odoo.outbox set available_at = now() where status = 'pending'")
    return total


def local_tags(url, contact_id) -> set[int]:
    """Odoo ids of the tags the app links to the contact (join rows)."""
    with connect(url) as conn:
        rows = conn.execute("select t.odoo_id from app.contacts_tags j join app.tags t on t.id = j.tag_id "
                            "where j.contact_id = %s", (contact_id,)).fetchall()
    return {r["odoo_id"] for r in rows}


def odoo_tags(client, partner_id) -> set[int]:
    return set(client.read("res.partner", [partner_id], ["category_id"])[0]["category_id"])


def open_outbox(url) -> list[dict]:
    with connect(url) as conn:
        return conn.execute("select entity, local_id, operation, last_error from odoo.outbox "
                            "where status in ('pending', 'processing') order by id").fetchall()


def a_contact(url, instance, tagged: bool | None = None) -> tuple[str, int, str]:
    """(local id, Odoo id, org id) of a pulled contact (with, without, or regardless of tags)."""
    with connect(url) as conn:
        rows = conn.execute("select c.id, c.odoo_id, c.org_id, count(j.tag_id) as n from app.contacts c "
                            "left join app.contacts_tags j on j.contact_id = c.id where c.instance_id = %s "
                            "group by c.id order by c.odoo_id", (instance["id"],)).fetchall()
    row = next(r for r in rows if tagged is None or bool(r["n"]) == tagged)
    return str(row["id"]), row["odoo_id"], str(row["org_id"])


def tag_ids(url, instance) -> dict[int, str]:
    with connect(url) as conn:
        rows = conn.execute("select id, odoo_id from app.tags where instance_id = %s order by odoo_id",
                            (instance["id"],)).fetchall()
    return {r["odoo_id"]: str(r["id"]) for r in rows}


def test_app_link_changes_reach_odoo_as_the_whole_set(setup):
    url, instance, client, pusher = setup
    contact, partner, org = a_contact(url, instance, tagged=False)
    tags = tag_ids(url, instance)
    first, second = list(tags)[:2]
    assert open_outbox(url) == [], "the pull queued nothing"

    # the app links two tags (two join rows, one statement each): one write of the contact is queued
    with connect(url) as conn:
        for oid in (first, second):
            conn.execute("insert into app.contacts_tags (org_id, contact_id, tag_id) values (%s, %s, %s)",
                         (org, contact, tags[oid]))
    queued = open_outbox(url)
    assert [(q["entity"], str(q["local_id"]), q["operation"]) for q in queued] == [("contact", contact, "write")]
    drain(pusher)
    assert odoo_tags(client, partner) == {first, second} == local_tags(url, contact)

    # the app removes one: Odoo loses it too
    with connect(url) as conn:
        conn.execute("delete from app.contacts_tags where contact_id = %s and tag_id = %s", (contact, tags[first]))
    counts = drain(pusher)
    assert counts.get("written") == 1
    assert odoo_tags(client, partner) == {second} == local_tags(url, contact)

    # a pull afterwards changes no link and queues nothing (the push's own write is not echoed back)
    with connect(url) as conn:
        before = {r["id"] for r in conn.execute("select id from app.contacts_tags").fetchall()}
    again = pull_entity(url, instance, pusher.adapters, pusher.adapters["contact"], client)
    with connect(url) as conn:
        after = {r["id"] for r in conn.execute("select id from app.contacts_tags").fetchall()}
    assert again.get("links_changed", 0) == 0 and before == after
    assert open_outbox(url) == []
    assert odoo_tags(client, partner) == {second} == local_tags(url, contact)


def test_a_new_tag_is_pushed_before_the_link_or_waited_for(setup):
    url, instance, client, pusher = setup
    contact, partner, org = a_contact(url, instance)
    had = odoo_tags(client, partner)

    # tag and link made in one transaction: the tag's create is older in the outbox, so it goes first
    with connect(url) as conn:
        tag = str(conn.execute("insert into app.tags (org_id, name) values (%s, 'Made in the app') returning id",
                               (org,)).fetchone()["id"])
        conn.execute("insert into app.contacts_tags (org_id, contact_id, tag_id) values (%s, %s, %s)",
                     (org, contact, tag))
    drain(pusher)
    made = client.search("res.partner.category", [["name", "=", "Made in the app"]])
    assert len(made) == 1 and odoo_tags(client, partner) == had | set(made)

    # a tag whose create is held back (its push backing off): the contact's write waits for it
    with connect(url) as conn:
        late = str(conn.execute("insert into app.tags (org_id, name) values (%s, 'Late tag') returning id",
                                (org,)).fetchone()["id"])
        conn.execute("update odoo.outbox set available_at = now() + interval '1 hour' where local_id = %s", (late,))
        conn.execute("insert into app.contacts_tags (org_id, contact_id, tag_id) values (%s, %s, %s)",
                     (org, contact, late))
    counts = pusher.run_once(limit=50)
    assert counts.get("retried") == 1
    waiting = [q for q in open_outbox(url) if q["entity"] == "contact"]
    assert len(waiting) == 1 and "LinkTargetNotPushed" in waiting[0]["last_error"]
    assert odoo_tags(client, partner) == had | set(made), "nothing partial reached Odoo"
    with connect(url) as conn:
        conn.execute("update odoo.outbox set available_at = now() where local_id = %s", (late,))
    drain(pusher)
    late_oid = client.search("res.partner.category", [["name", "=", "Late tag"]])
    assert len(late_oid) == 1 and odoo_tags(client, partner) == had | set(made) | set(late_oid)
    assert local_tags(url, contact) == odoo_tags(client, partner)


def test_concurrent_link_changes_merge_and_a_pull_does_not_undo_a_waiting_change(setup):
    """contact's policy is field_merge: the app removes a tag while Odoo adds another; a pull in
    between leaves the app's (still queued) change alone, and the push ends with both changes."""
    url, instance, client, pusher = setup
    contact, partner, org = a_contact(url, instance, tagged=False)
    tags = tag_ids(url, instance)
    a, b, c = list(tags)[:3]
    with connect(url) as conn:
        for oid in (a, b):
            conn.execute("insert into app.contacts_tags (org_id, contact_id, tag_id) values (%s, %s, %s)",
                         (org, contact, tags[oid]))
    drain(pusher)
    assert odoo_tags(client, partner) == {a, b}

    with connect(url) as conn:
        conn.execute("delete from app.contacts_tags where contact_id = %s and tag_id = %s", (contact, tags[a]))
    client.write("res.partner", [partner], {"category_id": [(4, c)]})
    pull_entity(url, instance, pusher.adapters, pusher.adapters["contact"], client)
    assert local_tags(url, contact) == {b}, "the pull left the queued app change alone"
    counts = drain(pusher)
    assert counts.get("written") == 1
    assert odoo_tags(client, partner) == {b, c} == local_tags(url, contact)
    pull_entity(url, instance, pusher.adapters, pusher.adapters["contact"], client)
    assert open_outbox(url) == [] and local_tags(url, contact) == {b, c}


def test_odoo_link_changes_are_pulled_for_a_shared_entity(setup):
    """With nothing queued in the app, Odoo's set replaces the join rows and the base follows, so the
    next app change is compared with what both sides held (no stale set is pushed back)."""
    url, instance, client, pusher = setup
    contact, partner, org = a_contact(url, instance, tagged=False)
    tags = tag_ids(url, instance)
    a, b, c = list(tags)[:3]
    client.write("res.partner", [partner], {"category_id": [(6, 0, [a, b])]})
    pull_entity(url, instance, pusher.adapters, pusher.adapters["contact"], client)
    assert local_tags(url, contact) == {a, b} and open_outbox(url) == []
    with connect(url) as conn:  # the app adds c: a, b stay (the base is {a, b}, not empty)
        conn.execute("insert into app.contacts_tags (org_id, contact_id, tag_id) values (%s, %s, %s)",
                     (org, contact, tags[c]))
    drain(pusher)
    assert odoo_tags(client, partner) == {a, b, c} == local_tags(url, contact)


def test_deleting_a_linked_contact_queues_only_its_unlink(setup):
    """The delete cascades to the join rows; their trigger finds the contact gone and queues nothing,
    so the contact's own unlink is the only row (no write of a deleted record)."""
    url, instance, client, pusher = setup
    contact, partner, org = a_contact(url, instance, tagged=True)
    with connect(url) as conn:
        conn.execute("delete from app.contacts where id = %s", (contact,))
    assert [(q["entity"], str(q["local_id"]), q["operation"]) for q in open_outbox(url)] == \
        [("contact", contact, "unlink")]
    drain(pusher)
    assert client.read("res.partner", [partner], ["name"]) == []
