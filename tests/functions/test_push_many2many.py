"""Many2many push through sync-to-odoo: the app's join rows reach Odoo as the record's whole set, (6, 0, ids);
a link to a record not in Odoo yet waits (LinkTargetNotPushed); a set changed on both sides merges link by
link (contact: field_merge). The project of tests/runtime/test_many2many_push.py (a shared `tag` entity and
a `tags` many2many on `contact`), its functions rendered from its own spec."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from bridge.store.db import connect
from bridge.sync.pull import pull_entity
from tests.functions.support import render_functions
from tests.functions.push_support import drain, invoke, open_rows, serve_push
from tests.runtime.conftest import odoo  # noqa: F401 (fixture)
from tests.runtime.support import add_instance, fast_client
from tests.runtime.test_many2many_push import (a_contact, local_tags, odoo_tags, push_adapters, push_db,  # noqa: F401
                                               push_project, tag_ids)

pytestmark = [pytest.mark.deno, pytest.mark.db]


@pytest.fixture(scope="module")
def m2m_functions(push_project):
    root = Path(tempfile.mkdtemp(prefix="specgen-m2m-functions-"))
    yield render_functions(push_project, root)
    shutil.rmtree(root, True)


@pytest.fixture
def setup(push_db, push_adapters, odoo, m2m_functions):  # noqa: F811
    instance = add_instance(push_db, odoo.url)
    client = fast_client(instance)
    for entity in ("tag", "contact"):
        pull_entity(push_db, instance, push_adapters, push_adapters[entity], client)
    fn = serve_push(push_db, functions=m2m_functions)
    yield push_db, instance, client, fn
    fn.stop()
    client.close()


def test_link_changes_reach_odoo_as_the_whole_set_and_new_targets_go_first(setup):
    url, instance, client, fn = setup
    contact, partner, org = a_contact(url, instance, tagged=False)
    tags = tag_ids(url, instance)
    first, second = list(tags)[:2]
    with connect(url) as conn:
        for oid in (first, second):
            conn.execute("insert into app.contacts_tags (org_id, contact_id, tag_id) values (%s, %s, %s)",
                         (org, contact, tags[oid]))
    assert drain(fn, url).get("written") == 1
    assert odoo_tags(client, partner) == {first, second} == local_tags(url, contact)
    with connect(url) as conn:
        conn.execute("delete from app.contacts_tags where contact_id = %s and tag_id = %s", (contact, tags[first]))
        synced = conn.execute("select synced_values from odoo.entity_mappings where local_id = %s", (contact,)).fetchone()
    assert synced["synced_values"]["_links"] == {"tags": sorted([first, second])}
    drain(fn, url)
    assert odoo_tags(client, partner) == {second} == local_tags(url, contact)

    # a tag made in the app whose create is held back: the contact's write waits for it, nothing partial
    with connect(url) as conn:
        late = str(conn.execute("insert into app.tags (org_id, name) values (%s, 'Late tag') returning id",
                                (org,)).fetchone()["id"])
        conn.execute("update odoo.outbox set available_at = now() + interval '1 hour' where local_id = %s", (late,))
        conn.execute("insert into app.contacts_tags (org_id, contact_id, tag_id) values (%s, %s, %s)",
                     (org, contact, late))
    assert invoke(fn)["failed"] == 1
    with connect(url) as conn:
        waiting = conn.execute("select last_error from odoo.outbox where entity = 'contact' and status = 'pending'").fetchone()
        conn.execute("update odoo.outbox set available_at = now() where local_id = %s", (late,))
    assert waiting["last_error"].startswith("LinkTargetNotPushed: contact.tags links tag ")
    assert odoo_tags(client, partner) == {second}
    drain(fn, url)
    late_oid = client.search("res.partner.category", [["name", "=", "Late tag"]])
    assert len(late_oid) == 1 and odoo_tags(client, partner) == {second, *late_oid} == local_tags(url, contact)
    assert open_rows(url) == 0


def test_a_set_changed_on_both_sides_merges(setup):
    url, instance, client, fn = setup
    contact, partner, org = a_contact(url, instance, tagged=False)
    tags = tag_ids(url, instance)
    a, b, c = list(tags)[:3]
    with connect(url) as conn:
        for oid in (a, b):
            conn.execute("insert into app.contacts_tags (org_id, contact_id, tag_id) values (%s, %s, %s)",
                         (org, contact, tags[oid]))
    drain(fn, url)
    client.write("res.partner", [partner], {"category_id": [[4, c]]})  # Odoo adds c
    with connect(url) as conn:  # the app removes a
        conn.execute("delete from app.contacts_tags where contact_id = %s and tag_id = %s", (contact, tags[a]))
    drain(fn, url)
    assert odoo_tags(client, partner) == {b, c} == local_tags(url, contact)
    with connect(url) as conn:
        synced = conn.execute("select synced_values from odoo.entity_mappings where local_id = %s", (contact,)).fetchone()
        queued = conn.execute("select count(*) as n from odoo.outbox where status = 'pending'").fetchone()["n"]
    assert synced["synced_values"]["_links"] == {"tags": sorted([b, c])} and queued == 0
