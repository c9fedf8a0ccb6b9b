"""Log redaction replaces whole secret values, never a piece of a word (issue 13, point 9)."""
from __future__ import annotations

import io
import logging

import orjson

from bridge.observe import jsonlog


def test_a_registered_secret_is_replaced_only_as_a_whole_value():
    jsonlog.register_secret("admin")
    jsonlog.register_secret("#s3cr3t!")
    text = "administrator signed in with admin; url postgresql://odoo:admin@db/x; other #s3cr3t! and x#s3cr3t!"
    assert jsonlog.redact(text) == ("administrator signed in with ***; url postgresql://odoo:***@db/x; "
                                    "other *** and x***")
    assert jsonlog.redact({"user": "administrator", "note": ["admin"]}) == {"user": "administrator", "note": ["***"]}


def test_a_bearer_credential_in_text_is_hidden_whole():
    assert jsonlog.redact("Authorization: Bearer abc.def.ghi") == "Authorization: Bearer ***"


def test_a_log_line_keeps_words_that_contain_a_secret():
    jsonlog.register_secret("admin")
    stream = io.StringIO()
    jsonlog.setup("info", stream)
    try:
        jsonlog.log(jsonlog.get("test"), logging.INFO, "login of administrator", password="admin", login="admin")
    finally:
        jsonlog.setup("warning")
    line = orjson.loads(stream.getvalue().splitlines()[-1])
    assert line["msg"] == "login of administrator" and line["password"] == "***" and line["login"] == "***"
