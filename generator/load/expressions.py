"""The two spec values that are SQL on purpose (`default_sql`, an index's `where`) hold ONE expression.

They are pasted into generated SQL as written (`default <text>`, `where <text>`), so the text the user
wrote is the text PostgreSQL runs, byte for byte: sqlglot only checks it, it never renders it
(docs/decisions.md, "sqlglot checks expressions, it does not write them").

Two passes, because sqlglot's parser forgives what would be a breakout in PostgreSQL (it drops a
trailing `;`, keeps comments aside, reads `$$...$$` as a string):

1. tokens: sqlglot's PostgreSQL tokenizer splits the text; the text must be exactly those tokens and
   whitespace (a gap holding anything else was a comment), with no `;`, no `$` outside a plain `'...'`
   literal (dollar quotes, `$1` parameters), only plain `'...'` string literals (no E'', U&'', $$),
   and no backslash anywhere. The backslash is refused because its meaning in a literal depends on the
   server (`standard_conforming_strings`) and sqlglot's tokenizer has its own setting for it; with no
   backslash, a `'...'` literal ends at the same quote for sqlglot and for PostgreSQL, whatever the settings.
2. tree: sqlglot.parse_one(text, into=exp.Condition) must read the text as one value expression (a
   statement, an alias or a trailing clause such as `references x` fails), with no query (select,
   subquery, exists) anywhere in it.

What an expression calls (a volatile function, say) is the spec author's choice, as it is in SQL.
"""
from __future__ import annotations

import logging
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from generator.errors import Diagnostic, SpecError

_DIALECT = Postgres()
_STRINGS = {TokenType.STRING, TokenType.NATIONAL_STRING, TokenType.BYTE_STRING, TokenType.HEX_STRING,
            TokenType.BIT_STRING, TokenType.RAW_STRING, TokenType.HEREDOC_STRING, TokenType.UNICODE_STRING}
_SPACE = " \t\n\r\f"  # PostgreSQL's white space; a no-break space, say, is part of a name to it

# Why a text was refused, and what to write instead. The hint is what a user needs to fix the spec.
EMPTY = ("it is empty", "give an expression, e.g. now(), or remove the key")
NUL = ("it holds a NUL character", "remove it")
BACKSLASH = ("it holds a backslash",
             "a backslash in a string means different things under different server settings "
             "(standard_conforming_strings); for a regular expression use a class such as [[:digit:]]")
UNCLOSED_QUOTE = ("a quote, a quoted name or a comment is not closed", "inside '...' write a ' twice: 'it''s'")
COMMENT = ("it holds a comment (-- or /* */)",
           "remove the comment: the generator writes more SQL after the expression; say why in a description")
SEMICOLON = ("it holds a `;`",
             "a `;` ends the statement the expression is written into; remove it and anything after it")
DOLLAR = ("it holds a `$` outside a '...' literal (a dollar quote or a parameter)",
          "write a string as '...' with each ' doubled")
QUERY = ("it holds a query (select, subquery or exists)",
         "a default or an index predicate cannot run a query here; call a function instead")
NOT_NULL = ("`not null` after a value is a column constraint, not part of the expression",
            "set required: true on the field (or write `is not null` in a predicate)")
CLAUSE_HINT = "only the value belongs here; constraints have their own keys (required, check, unique, references)"


class ExpressionProblem(ValueError):
    """Why a text is not one plain SQL expression: `reason` and the `hint` that says what to write."""

    def __init__(self, problem: tuple[str, str]):
        self.reason, self.hint = problem
        super().__init__(self.reason)


@lru_cache(maxsize=4096)  # a large spec repeats the same few expressions (now(), auth.uid()) many times
def expression_problem(text: str) -> tuple[str, str] | None:
    """None when `text` is one SQL expression by the rules above; else (reason, hint), for a user."""
    try:
        _check(text)
    except ExpressionProblem as exc:
        return exc.reason, exc.hint
    return None


def message(what: str, reason: str) -> str:
    return f"{what} must be one SQL expression: {reason}"


def check_expression(text: str, what: str, source, path: tuple) -> None:
    """Raise SpecError at `path` of `source` (a SourceFile) when `text` is not one SQL expression.
    `what` names the key in the message: default_sql, where."""
    problem = expression_problem(text)
    if problem is not None:
        line, col = source.locate(path)
        raise SpecError([Diagnostic(source.path, line, col, message(what, problem[0]), problem[1])])


def _check(text: str) -> None:
    if not text.strip(_SPACE):
        raise ExpressionProblem(EMPTY)
    if "\x00" in text:
        raise ExpressionProblem(NUL)
    if "\\" in text:
        raise ExpressionProblem(BACKSLASH)
    try:
        tokens = _DIALECT.tokenize(text)
    except TokenError:
        raise ExpressionProblem(UNCLOSED_QUOTE) from None
    at, before, previous = 0, None, None
    for token in tokens:
        if token.token_type == TokenType.COMMAND:  # sqlglot swallows the rest of such a statement
            raise ExpressionProblem(_statement(token.text))
        gap, raw = text[at:token.start], text[token.start:token.end + 1]
        at = token.end + 1
        _check_gap(gap)
        if token.comments:
            raise ExpressionProblem(COMMENT)
        if previous == TokenType.NOT and token.token_type == TokenType.NULL and before != TokenType.IS:
            raise ExpressionProblem(NOT_NULL)  # sqlglot reads `x not null` as `x is not null`
        before, previous = previous, token.token_type
        if token.token_type in _STRINGS:
            if token.token_type != TokenType.STRING or len(raw) < 2 or raw[0] != "'" or raw[-1] != "'":
                raise ExpressionProblem(DOLLAR if raw.startswith("$") else (
                    f"the string {raw[:20]!r} is not a plain '...' literal",
                    "write a string as '...' with each ' doubled; E'', U&'' and B'' strings are not taken"))
            continue
        if token.token_type == TokenType.IDENTIFIER and raw.startswith('"'):
            continue  # a quoted name: its content is a name, whatever it holds
        if "--" in raw or "/*" in raw:  # PostgreSQL starts a comment there, even inside an operator
            raise ExpressionProblem(COMMENT)
        if token.token_type == TokenType.SEMICOLON or ";" in raw:
            raise ExpressionProblem(SEMICOLON)
        if "$" in raw:
            raise ExpressionProblem(DOLLAR)
    _check_gap(text[at:])
    _check_tree(text)


def _check_gap(gap: str) -> None:
    """Between two tokens only white space may stand; anything else is a comment the tokenizer set aside."""
    rest = gap.strip(_SPACE)
    if "--" in rest or "/*" in rest:
        raise ExpressionProblem(COMMENT)
    if rest:
        raise ExpressionProblem((f"it holds {rest[0]!r}, which PostgreSQL does not read as a space",
                                 "use plain spaces and line breaks"))


def _statement(keyword: str) -> tuple[str, str]:
    return (f"it is a statement ({keyword.lower()}), not an expression",
            "give the value only, e.g. now(), auth.uid() or 'open'")


def _check_tree(text: str) -> None:
    """sqlglot reads the text as a Condition (its name for any value expression), which a statement,
    an alias or a trailing clause (`references x`, `order by`) cannot be."""
    sqlglot_log = logging.getLogger("sqlglot")
    level = sqlglot_log.level
    sqlglot_log.setLevel(logging.ERROR)  # sqlglot warns before it reads an unknown statement as a Command
    try:
        try:
            tree = sqlglot.parse_one(text, read=_DIALECT, into=exp.Condition)
        except (ParseError, TokenError) as exc:
            raise ExpressionProblem(_statement_kind(text) or _parse_reason(exc)) from None
    finally:
        sqlglot_log.setLevel(level)
    for node in tree.walk():
        if isinstance(node, (exp.Query, exp.Subquery, exp.Exists)):
            raise ExpressionProblem(QUERY)


def _statement_kind(text: str) -> tuple[str, str] | None:
    """Why, when sqlglot reads the text as a statement; None when it is an expression with extra text."""
    try:
        tree = sqlglot.parse_one(text, read=_DIALECT)
    except (ParseError, TokenError):
        return None
    if isinstance(tree, exp.Query):
        return QUERY
    if isinstance(tree, (exp.Condition, exp.Alias)):
        return None
    return _statement(text.split()[0] if isinstance(tree, exp.Command) else type(tree).__name__)


def _parse_reason(exc: Exception) -> tuple[str, str]:
    error = (getattr(exc, "errors", None) or [{}])[0]
    description, highlight = error.get("description", str(exc)), error.get("highlight", "")
    if description.startswith("Expecting )"):
        return "a `(` is not closed", "close every ( with a )"
    if description.startswith("Required keyword"):
        return f"it ends too early, at {highlight!r}", "complete the expression"
    if description.startswith("Invalid expression / Unexpected token"):
        if error.get("start_context", "").strip(_SPACE):
            return f"unexpected {highlight!r} after the expression", CLAUSE_HINT
        return f"it cannot start with {highlight!r}", "give the value only, e.g. now(), auth.uid() or 'open'"
    return f"sqlglot cannot read it ({description})", "check the expression's syntax"
