"""Html fields at the boundary: the app stores plain text, Odoo stores sanitized markup.

Odoo 17 sanitizes every value written to an `fields.Html` field (odoo/tools/mail.py `html_sanitize`):
``VIP`` comes back as ``<p>VIP</p>`` and ``A & B`` as ``<p>A &amp; B</p>``. A text column mapped to
such a field would differ from Odoo on every comparison, so a shared entity would push and pull the
same value for ever. So the conversion happens where values cross:

- pull (`to_text`): markup -> text; ``<br>`` is a newline, paragraph and other block boundaries are
  newlines, tags are dropped, entities unescaped, scripts and styles dropped with their content;
- push (`to_html`): text -> ``<p>`` + escaped text, newlines as ``<br>`` + ``</p>``, which Odoo's
  sanitizer keeps as it is (so a pushed value reads back as the same text).

``to_text(sanitized(to_html(t))) == t`` for any text ``t``: values and their comparisons are plain
text everywhere in the sync (rows, synced_values, conflict resolution). Formatting made in Odoo
(bold, lists) is not kept in the app, and a value edited in the app replaces it in Odoo.
A mapped field is treated as Html when Odoo's fields_get says its type is ``html``.
"""
from __future__ import annotations

from html import escape
from html.parser import HTMLParser

_BLOCK = {"address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "fieldset", "figure", "footer",
          "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
          "section", "table", "tr", "ul"}
_DROP = {"script", "style", "head", "title"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.depth = 0  # open non-void tags: whitespace between top-level blocks is layout, not text
        self.dropping = 0
        self.break_due = False

    def _boundary(self) -> None:
        if self.out:
            self.break_due = True

    def handle_starttag(self, tag, attrs) -> None:
        if tag in _DROP:
            self.dropping += 1
        elif tag == "br":
            self.break_due = False
            self.out.append("\n")
        elif tag in _BLOCK:
            self._boundary()
        if tag not in ("br", "hr", "img", "wbr", "input", "meta", "link"):
            self.depth += 1

    def handle_endtag(self, tag) -> None:
        if tag in _DROP:
            self.dropping = max(0, self.dropping - 1)
        elif tag in _BLOCK:
            self._boundary()
        if tag not in ("br", "hr", "img", "wbr", "input", "meta", "link"):
            self.depth = max(0, self.depth - 1)

    def handle_data(self, data) -> None:
        if self.dropping or (self.depth == 0 and not data.strip(" \t\n\r\f")):
            return
        if self.break_due:
            self.out.append("\n")
            self.break_due = False
        self.out.append(data)


def to_text(value):
    """Odoo Html -> the app's text (False and None stay as they are)."""
    if not isinstance(value, str) or not value:
        return value
    parser = _Text()
    parser.feed(value)
    parser.close()
    return "".join(parser.out)


def to_html(value):
    """The app's text -> markup Odoo's sanitizer keeps unchanged (None, False and "" stay)."""
    if not isinstance(value, str) or not value:
        return value
    return "<p>" + escape(value, quote=False).replace("\xa0", "&nbsp;").replace("\n", "<br>") + "</p>"


def html_fields(adapter, client) -> list[str]:
    """Odoo fields of ``adapter`` mapped to text columns whose Odoo type is html (per fields_get)."""
    types = getattr(client, "field_types", None)
    if types is None:
        return []
    known = types(adapter.odoo_model)
    return [fm.odoo_field for fm in adapter.fields
            if fm.kind == "scalar" and fm.type in ("text", "varchar") and known.get(fm.odoo_field) == "html"]


def record_to_text(record: dict, fields: list[str]) -> dict:
    """A copy of an Odoo record with its Html fields as text."""
    if not fields:
        return record
    return {**record, **{f: to_text(record[f]) for f in fields if f in record}}


def values_to_html(values: dict, fields: list[str]) -> dict:
    """Odoo values to write, with the Html fields' text as markup."""
    for f in fields:
        if f in values:
            values[f] = to_html(values[f])
    return values
