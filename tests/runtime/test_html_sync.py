"""An Html field (res.partner.comment, sanitized by Odoo) mapped to a text column does not churn.

Odoo 17 stores ``VIP & friends`` as ``<p>VIP &amp; friends</p>``; the app keeps the text, the sync
converts at the boundary (bridge/sync/htmltext), so field_merge sees equal values and writes nothing.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from bridge.store.db import connect
from bridge.sync.htmltext import to_html, to_text
from mock_odoo.sanitize import html_sanitize
from bridge.sync.pull import pull_entity
from bridge.sync.push import Pusher
from tests.runtime.support import fast_client

pytestmark = pytest.mark.db

CYCLES = 4


def _calls(odoo, key: str) -> int:
    return odoo.state()["faults"]["calls"].get(key, 0)


def _pending(db_url) -> int:
    with connect(db_url) as conn:
        return conn.execute("select count(*) as n from odoo.outbox where status in ('pending','processing')"
                            ).fetchone()["n"]


def _cycle(db_url, instance, adapters, client, pusher) -> None:
    pull_entity(db_url, instance, adapters, adapters["contact"], client)
    for _ in range(5):
        if not pusher.run_once(limit=50).get("claimed"):
            break


def test_notes_pushed_to_an_html_field_do_not_churn(db_url, instance, adapters, odoo):
    client = fast_client(instance)
    pusher = Pusher(db_url, adapters, lambda inst: client, retry_base=0.0)
    with connect(db_url) as conn:
        local_id = str(conn.execute("insert into app.contacts (org_id, full_name, notes) values (%s, 'Notes Ann', %s) "
                                    "returning id", (instance["org_id"], "VIP & friends\nsecond line")).fetchone()["id"])
    _cycle(db_url, instance, adapters, client, pusher)
    odoo_id = client.search("res.partner", [["name", "=", "Notes Ann"]])
    assert len(odoo_id) == 1
    odoo_id = odoo_id[0]
    assert client.read("res.partner", [odoo_id], ["comment"])[0]["comment"] == \
        "<p>VIP &amp; friends<br>second line</p>", "Odoo holds the sanitized markup"
    writes, creates = _calls(odoo, "res.partner/write"), _calls(odoo, "res.partner/create")
    for _ in range(CYCLES):
        _cycle(db_url, instance, adapters, client, pusher)
        with connect(db_url) as conn:
            notes = conn.execute("select notes from app.contacts where id = %s", (local_id,)).fetchone()["notes"]
        assert notes == "VIP & friends\nsecond line", "a pull never puts markup into the app"
        assert _pending(db_url) == 0, "nothing queued for Odoo"
    assert (_calls(odoo, "res.partner/write"), _calls(odoo, "res.partner/create")) == (writes, creates)

    # formatting added in Odoo arrives as its text, and is not pushed back
    client.write("res.partner", [odoo_id], {"comment": "<p><b>Gold</b> &amp; friends</p><p>since 2020</p>"})
    writes = _calls(odoo, "res.partner/write")
    for _ in range(2):
        _cycle(db_url, instance, adapters, client, pusher)
    with connect(db_url) as conn:
        notes = conn.execute("select notes from app.contacts where id = %s", (local_id,)).fetchone()["notes"]
    assert notes == "Gold & friends\nsince 2020"
    assert _pending(db_url) == 0 and _calls(odoo, "res.partner/write") == writes
    client.close()


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_any_text_survives_the_round_trip_through_odoo_sanitizer(text):
    """What the push writes, Odoo's sanitizer keeps, and the pull reads back as the same text."""
    stored = html_sanitize(to_html(text))
    assert html_sanitize(stored) == stored
    assert to_text(stored) == text


def test_markup_made_in_odoo_reads_as_its_text():
    assert to_text("<p>a</p>\n<p>b &amp; c</p>") == "a\nb & c"
    assert to_text("<ul><li>x</li><li>y</li></ul><script>z</script>") == "x\ny"
    assert to_text("<p><br></p>") == "\n" and to_text(False) is False
