"""What Odoo 17 stores for an Html field: a small, faithful subset of its sanitizer.

Odoo's `fields.Html` (sanitize=True by default) runs every written value through odoo/tools/mail.py
`html_sanitize`, which parses it with lxml (`html_normalize`: `lxml.html.fromstring`, then
`html.tostring`) and cleans it with lxml's Cleaner configured by `SANITIZE_TAGS`. What a client sees
of that, and what this module reproduces (written from that behaviour, not from Odoo's code):

- empty values stay as they are (``False``, ``""``); whitespace only becomes ``""`` (lxml's "empty
  document" ParserError, which `html_normalize` turns into ``""``);
- bare text, and inline content at the top level, is wrapped in ``<p>...</p>`` (libxml2 opens an
  implied paragraph for text in ``<body>``): ``VIP`` -> ``<p>VIP</p>``;
- text is re-serialized escaped: ``&`` -> ``&amp;``, ``<`` -> ``&lt;``, ``>`` -> ``&gt;``, and a
  no-break space -> ``&nbsp;`` (`html_normalize`'s last replace);
- the tags of `SANITIZE_TAGS['kill_tags']` are removed with their content (``script``, ``style``,
  ``iframe``, ...); ``html`` and ``body`` are removed, their content kept (``remove_tags``);
- other tags are kept with their attributes, except event handlers (``on*``) and ``javascript:``
  links, which lxml's Cleaner (``javascript=True``) drops; void tags are written ``<br>``;
  unclosed tags are closed, stray end tags dropped, as lxml's parser does.

Not modelled: comments and processing instructions, the style whitelist, forms, the e-mail quote
markers (`tag_quote`), and libxml2's repair of mis-nested markup beyond closing what is open.
The result is idempotent: sanitizing a sanitized value returns it unchanged, as Odoo's does.
"""
from __future__ import annotations

from html import escape
from html.parser import HTMLParser

KILL = {"base", "embed", "frame", "head", "iframe", "link", "meta", "noscript", "object", "script", "style",
        "title"}
REMOVE = {"html", "body"}
VOID = {"area", "br", "col", "embed", "hr", "img", "input", "source", "track", "wbr"}
BLOCK = {"address", "article", "aside", "blockquote", "div", "dl", "fieldset", "figure", "footer", "form",
         "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section",
         "table", "ul"}


def _text(data: str) -> str:
    return escape(data, quote=False).replace("\xa0", "&nbsp;")


class _Sanitizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[str] = []  # open tags we kept
        self.killing: list[str] = []  # open tags whose content is dropped
        self.implied_p = False  # a <p> we opened around top-level inline content

    def _top_inline(self) -> None:
        if not self.stack and not self.implied_p:
            self.out.append("<p>")
            self.implied_p = True

    def _close_implied(self) -> None:
        if self.implied_p and not self.stack:
            self.out.append("</p>")
            self.implied_p = False

    def handle_starttag(self, tag, attrs) -> None:
        if self.killing:
            if tag not in VOID:
                self.killing.append(tag)
            return
        if tag in KILL:
            if tag not in VOID:
                self.killing.append(tag)
            return
        if tag in REMOVE:
            return
        if tag in BLOCK:
            self._close_implied()
        else:
            self._top_inline()
        kept = "".join(f' {k}="{escape(v or "", quote=True)}"' if v is not None else f" {k}"
                       for k, v in attrs if not k.startswith("on")
                       and not (k in ("href", "src") and (v or "").strip().lower().startswith("javascript:")))
        self.out.append(f"<{tag}{kept}>")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID and not self.killing and self.stack and self.stack[-1] == tag:
            self.handle_endtag(tag)
        elif tag not in VOID and self.killing and self.killing[-1] == tag:
            self.killing.pop()

    def handle_endtag(self, tag) -> None:
        if self.killing:
            if tag in self.killing:
                while self.killing and self.killing.pop() != tag:
                    pass
            return
        if tag in REMOVE or tag in VOID or tag not in self.stack:
            return  # a stray end tag: dropped
        while self.stack:
            open_tag = self.stack.pop()
            self.out.append(f"</{open_tag}>")
            if open_tag == tag:
                break

    def handle_data(self, data) -> None:
        if self.killing:
            return
        if not self.stack and not self.implied_p and not data.strip():
            self.out.append(data)  # whitespace between top-level blocks is kept, unwrapped
            return
        self._top_inline()
        self.out.append(_text(data))

    def result(self) -> str:
        while self.stack:
            self.out.append(f"</{self.stack.pop()}>")
        self._close_implied()
        return "".join(self.out)


def html_sanitize(value):
    """The value an Odoo 17 Html field stores for ``value`` (see the module's docstring)."""
    if not value:
        return value
    text = value if isinstance(value, str) else str(value)
    if not text.strip(" \t\n\r\f"):  # a no-break space is content for lxml, not whitespace
        return ""
    parser = _Sanitizer()
    parser.feed(text)
    parser.close()
    return parser.result()
