"""Html fields are sanitized on write, as Odoo 17's fields.Html does (odoo/tools/mail.py html_sanitize)."""
from __future__ import annotations

import pytest

from mock_odoo.sanitize import html_sanitize

CASES = [
    ("VIP", "<p>VIP</p>"),
    ("VIP & friends", "<p>VIP &amp; friends</p>"),
    ("x < y > z", "<p>x &lt; y &gt; z</p>"),
    ("a<b>bold</b>", "<p>a<b>bold</b></p>"),
    ("<p>one</p><p>two</p>", "<p>one</p><p>two</p>"),
    ("lead<p>para</p>", "<p>lead</p><p>para</p>"),
    ("<script>alert(1)</script><p onclick=\"x()\">hi</p>", "<p>hi</p>"),
    ("<style>p{}</style>text", "<p>text</p>"),
    ("<html><body>hi</body></html>", "<p>hi</p>"),
    ("<p>a<br/>b", "<p>a<br>b</p>"),
    ("caf\xa0e", "<p>caf&nbsp;e</p>"),
    ("   ", ""),
    ("", ""),
]


@pytest.mark.parametrize("given,stored", CASES)
def test_sanitizer_subset(given, stored):
    assert html_sanitize(given) == stored
    assert html_sanitize(stored) == stored, "sanitizing is idempotent, as Odoo's is"


def test_html_fields_are_sanitized_on_create_and_write_and_reported_as_html(odoo):
    pid = odoo.x("res.partner", "create", {"name": "Html", "comment": "VIP & friends"})
    assert odoo.x("res.partner", "read", [pid], ["comment"])[0]["comment"] == "<p>VIP &amp; friends</p>"
    odoo.x("res.partner", "write", [pid], {"comment": "<script>x</script>ok"})
    assert odoo.x("res.partner", "read", [pid], ["comment"])[0]["comment"] == "<p>ok</p>"
    odoo.x("res.partner", "write", [pid], {"comment": False})
    assert odoo.x("res.partner", "read", [pid], ["comment"])[0]["comment"] is False
    assert odoo.x("res.partner", "fields_get", ["comment"], attributes=["type"])["comment"]["type"] == "html"
    assert odoo.x("sale.order", "fields_get", ["note"], attributes=["type"])["note"]["type"] == "html"
