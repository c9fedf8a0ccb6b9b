"""Odoo domains, the pure part: the prefix-notation parser and the leaf rules.

Shared by `specgen check` (generator/load/semantics/mapping.py validates `odoo.domain` with it) and the mock Odoo
(mock_odoo/domain.py compiles parsed domains into record predicates), so the compiler refuses exactly
the domains the mock would refuse. It lives in generator because bridge already depends on generator and
not the other way round. Odoo 17: odoo/osv/expression.py (`TERM_OPERATORS`, `is_leaf`, `normalize_domain`,
`expression.parse` raising "Invalid leaf" / "Domain ... is syntactically not correct").
"""
from __future__ import annotations

from typing import Any

OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "=?", "like", "not like", "ilike", "not ilike",
             "=like", "=ilike", "in", "not in", "child_of", "parent_of", "any", "not any")
NEGATIONS = {"=": "!=", "!=": "=", "<": ">=", ">": "<=", "<=": ">", ">=": "<", "in": "not in",
             "not in": "in", "like": "not like", "not like": "like", "ilike": "not ilike",
             "not ilike": "ilike", "any": "not any", "not any": "any"}
TRUE_LEAF, FALSE_LEAF = (1, "=", 1), (0, "=", 1)


class DomainError(ValueError):
    """A domain Odoo would refuse; `where` is the index path of the offending item inside the domain."""

    def __init__(self, message: str, where: tuple = ()):
        super().__init__(message)
        self.where = where


def is_leaf(item: Any) -> bool:
    return isinstance(item, (list, tuple)) and len(item) == 3 and not isinstance(item, str)


def parse(domain: Any, where: tuple = ()) -> Any:
    """Turn a prefix domain into a tree of ('&'|'|', a, b), ('!', a) and leaves."""
    if domain is None or domain is False:
        domain = []
    if not isinstance(domain, (list, tuple)):
        raise DomainError(f"Invalid domain {domain!r}: a domain is a list", where)
    items = list(domain)
    if not items:
        return TRUE_LEAF
    pos = 0

    def term(opener: int | None):
        nonlocal pos
        if pos >= len(items):
            at = (*where, opener) if opener is not None else where
            raise DomainError(f"Domain {domain!r} is syntactically not correct.", at)
        item = items[pos]
        pos += 1
        if item in ("&", "|"):
            here = pos - 1
            return (item, term(here), term(here))
        if item == "!":
            return ("!", term(pos - 1))
        if is_leaf(item):
            return tuple(item)
        raise DomainError(f"Invalid leaf {item!r}", (*where, pos - 1))

    trees = []
    while pos < len(items):
        trees.append(term(None))
    tree = trees[-1]
    for left in reversed(trees[:-1]):
        tree = ("&", left, tree)
    return tree


def is_constant_leaf(leaf: tuple) -> bool:
    return leaf in (TRUE_LEAF, FALSE_LEAF) or (leaf[0] in (0, 1) and leaf[1] == "=" and leaf[2] == 1)


def leaf_problem(leaf: tuple) -> str | None:
    """What is wrong with one leaf regardless of the model, as the mock's leaf compiler judges it."""
    if is_constant_leaf(leaf):
        return None
    path, op, _value = leaf
    if not isinstance(op, str) or op.lower() not in OPERATORS:
        return f"Invalid leaf {list(leaf)!r}: unknown operator {op!r}"
    if not isinstance(path, str) or not path:
        return f"Invalid leaf {list(leaf)!r}: the field must be a non-empty name"
    return None


def validate(domain: Any, where: tuple = ()) -> None:
    """Raise DomainError for a domain Odoo would refuse whatever the model: structure, leaf shape,
    operators, and the sub-domains of `any` / `not any`."""
    parse(domain, where)
    for k, item in enumerate(domain or []):
        if not is_leaf(item):
            continue
        problem = leaf_problem(tuple(item))
        if problem:
            raise DomainError(problem, (*where, k, 1) if "operator" in problem else (*where, k, 0))
        if isinstance(item[1], str) and item[1].lower() in ("any", "not any"):
            validate(item[2], (*where, k, 2))
