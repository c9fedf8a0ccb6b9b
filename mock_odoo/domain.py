"""Odoo domains: parse prefix notation and compile it into a record predicate.

A domain is a list of leaves ``(field, operator, value)`` and the prefix
operators ``&`` (implicit between terms), ``|`` and ``!``. ``compile_domain``
returns a function ``pred(record_dict) -> bool``. Negation is pushed down to
the leaves the way Odoo's ``distribute_not`` does it, so ``!`` over ``=`` means
``!=`` (which, as in SQL via Odoo, also matches empty values).

The compiler needs a *resolver* for relational leaves, any object with:
``registry`` (a models.Registry), ``table(model) -> {id: record}`` and
``search_ids(model, domain, active_test) -> list[int]``.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Callable

# The parser and the leaf rules are shared with `specgen check`, which refuses what the mock would refuse.
from generator.odoo_domain import (FALSE_LEAF, NEGATIONS, OPERATORS, TRUE_LEAF,  # noqa: F401
                                   DomainError, is_constant_leaf, is_leaf, parse as _parse)

Pred = Callable[[dict], bool]


def _always(_rec: dict) -> bool:
    return True


def _never(_rec: dict) -> bool:
    return False


def parse(domain: Any) -> Any:
    """The shared parser; its errors reach the client as Odoo raises them, a plain ValueError
    (odoo/osv/expression.py 17.0), so the fault's data.name stays builtins.ValueError."""
    try:
        return _parse(domain)
    except DomainError as exc:
        raise ValueError(str(exc)) from None


def sql_like_regex(pattern: str, flags: int = 0) -> re.Pattern:
    """An SQL LIKE pattern (% and _, backslash escapes) as an anchored regex."""
    out, escape = [], False
    for ch in pattern:
        if escape:
            out.append(re.escape(ch))
            escape = False
        elif ch == "\\":
            escape = True
        elif ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out) + r"\Z", flags | re.S)


def _is_null(v: Any) -> bool:
    return v is False or v is None


def _coerce(field, value: Any) -> Any:
    """Make a domain value comparable with stored values of ``field``."""
    if _is_null(value) or field is None:
        return value
    if field.type in ("float", "monetary") and isinstance(value, (int, str)):
        return float(value)
    if field.type == "integer" and isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    if field.type == "datetime" and isinstance(value, str):
        # Odoo 17 (odoo/osv/expression.py, leaf to SQL) passes the string to PostgreSQL, which compares
        # it with the stored timestamp, microseconds included: a record written at 10:00:00.4 is
        # '> 10:00:00' and not '= 10:00:00'. Stored values are canonical text (orm.stored_datetime),
        # so the value is made canonical too and the string comparison is the timestamp comparison.
        value = value.replace("T", " ")
        if len(value) == 10:
            value += " 00:00:00"
        try:
            return datetime.fromisoformat(value).isoformat(" ")
        except ValueError:
            return value[:19]
    return value


def scalar_test(op: str, value: Any, field=None) -> Callable[[Any], bool]:
    """A test on one stored scalar value (False stands for NULL)."""
    value = [_coerce(field, v) for v in value] if isinstance(value, (list, tuple)) \
        else _coerce(field, value)
    if op == "=?":
        if _is_null(value):
            return lambda x: True
        op = "="
    if op == "=":
        if _is_null(value):
            return _is_null
        return lambda x: not _is_null(x) and x == value
    if op == "!=":
        if _is_null(value):
            return lambda x: not _is_null(x)
        return lambda x: _is_null(x) or x != value
    if op in (">", ">=", "<", "<="):
        if _is_null(value):
            return lambda x: False
        cmp = {">": lambda a: a > value, ">=": lambda a: a >= value,
               "<": lambda a: a < value, "<=": lambda a: a <= value}[op]

        def ordered(x):
            if _is_null(x):
                return False
            try:
                return cmp(x)
            except TypeError:
                return False
        return ordered
    if op in ("in", "not in"):
        values = value if isinstance(value, list) else [value]
        want_null = any(_is_null(v) for v in values)
        members = {v for v in values if not _is_null(v)}
        if op == "in":
            return lambda x: (want_null if _is_null(x) else x in members)
        return lambda x: (not want_null if _is_null(x) else x not in members)
    if op in ("like", "ilike", "not like", "not ilike"):
        # odoo/osv/expression.py 17.0 `expression.__leaf_to_sql`: the value is wrapped as '%value%' and
        # passed to SQL (I)LIKE unescaped, so '%' and '_' in it are wildcards and '\\' escapes, as in SQL
        needle = "" if _is_null(value) else str(value)
        if any(ch in needle for ch in "%_\\"):
            rx = sql_like_regex(f"%{needle}%", re.I if "ilike" in op else 0)
            match = lambda x: rx.match(str(x)) is not None  # noqa: E731
        elif "ilike" in op:  # no wildcard in the value: a plain substring test says the same, faster
            match = lambda x: needle.lower() in str(x).lower()  # noqa: E731
        else:
            match = lambda x: needle in str(x)  # noqa: E731
        if op.startswith("not"):  # `col NOT LIKE p OR col IS NULL`
            return lambda x: _is_null(x) or not match(x)
        return lambda x: not _is_null(x) and match(x)
    if op in ("=like", "=ilike"):  # same function: the value is the pattern itself
        rx = sql_like_regex("" if _is_null(value) else str(value), re.I if op == "=ilike" else 0)
        return lambda x: not _is_null(x) and rx.match(str(x)) is not None
    raise ValueError(f"Invalid operator {op!r}")


def compile_domain(domain: Any, model: str, resolver, negate: bool = False) -> Pred:
    """Compile ``domain`` for ``model`` into ``pred(record) -> bool``."""
    return _compile(parse(domain), model, resolver, negate)


def _compile(node, model, resolver, negate) -> Pred:
    head = node[0]
    if head == "!" and len(node) == 2:
        return _compile(node[1], model, resolver, not negate)
    if head in ("&", "|"):
        left = _compile(node[1], model, resolver, negate)
        right = _compile(node[2], model, resolver, negate)
        if (head == "&") != negate:
            return lambda r: left(r) and right(r)
        return lambda r: left(r) or right(r)
    return _compile_leaf(node, model, resolver, negate)


def _compile_leaf(leaf, model_name, resolver, negate) -> Pred:
    if is_constant_leaf(leaf):
        truth = leaf[0] == 1
        return _always if truth != negate else _never
    path, op, value = leaf
    if not isinstance(op, str) or op.lower() not in OPERATORS:
        raise ValueError(f"Invalid leaf {leaf!r}")
    op = op.lower()
    if not isinstance(path, str) or not path:
        raise ValueError(f"Invalid leaf {leaf!r}")
    model = resolver.registry[model_name]
    fname, _, rest = path.partition(".")
    field = model.fields.get(fname)
    if field is None:
        raise ValueError(f"Invalid field {model_name}.{fname} in leaf {leaf!r}")
    if rest:
        if field.type not in ("many2one", "one2many", "many2many"):
            raise ValueError(f"Invalid field {model_name}.{fname} in leaf {leaf!r}")
        return _compile_leaf((fname, "any", [(rest, op, value)]), model_name, resolver, negate)
    if negate:
        if op in NEGATIONS:
            op = NEGATIONS[op]
        else:
            inner = _compile_leaf(leaf, model_name, resolver, False)
            return lambda r: not inner(r)
    if op in ("child_of", "parent_of"):
        return _hierarchy(field, op, value, model, resolver)
    if field.type in ("many2one", "one2many", "many2many"):
        return _relational(field, op, value, resolver)
    if op in ("any", "not any"):
        raise ValueError(f"Invalid leaf {leaf!r}: 'any' needs a relational field")
    test = scalar_test(op, value, field)
    return lambda r: test(r.get(fname, False))


def _related_ids(comodel: str, op: str, value: Any, resolver) -> set[int]:
    """Ids of ``comodel`` records matching a name-based test (like Odoo's _name_search)."""
    co = resolver.registry[comodel]
    name_field = co.rec_name or "display_name"
    if co.fields.get("complete_name"):
        name_field = "complete_name"
    return set(resolver.search_ids(comodel, [(name_field, op, value)], False))


def _ids_of(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _relational(field, op, value, resolver) -> Pred:
    fname = field.name
    if op in ("any", "not any"):
        ids = set(resolver.search_ids(field.relation, value, False))
        positive = op == "any"
    elif op in ("like", "ilike", "=like", "=ilike", "not like", "not ilike") or (
            op in ("=", "!=", "in", "not in") and any(isinstance(v, str) for v in _ids_of(value))):
        base = {"not like": "like", "not ilike": "ilike", "!=": "=", "not in": "in"}.get(op, op)
        names = _ids_of(value) if base == "in" else [value]
        ids = set()
        for name in names:
            ids |= _related_ids(field.relation, "=" if base == "in" else base, name, resolver)
        positive = base == op
    else:
        if field.type == "many2one":
            test = scalar_test(op, value, field)
            return lambda r: test(r.get(fname, False))
        # x2many against ids: "=" / "in" mean "contains one of", False means "is empty"
        if op in ("=", "!=", "in", "not in"):
            values = _ids_of(value)
            want_empty = any(_is_null(v) for v in values)
            members = {v for v in values if not _is_null(v)}
            positive = op in ("=", "in")
            if field.type == "one2many":
                return _o2m_pred(field, members, want_empty, positive, resolver)

            def contains(r, members=members, want_empty=want_empty):
                linked = r.get(fname) or ()
                return (not linked) if want_empty and not linked else bool(members.intersection(linked))
            return contains if positive else (lambda r: not contains(r))
        raise ValueError(f"Invalid leaf {(fname, op, value)!r}")
    if field.type == "many2one":
        if positive:
            return lambda r: r.get(fname) in ids
        return lambda r: r.get(fname) not in ids
    if field.type == "one2many":
        return _o2m_pred(field, ids, False, positive, resolver)
    if positive:
        return lambda r: bool(ids.intersection(r.get(fname) or ()))
    return lambda r: not ids.intersection(r.get(fname) or ())


def _o2m_pred(field, members: set, want_empty: bool, positive: bool, resolver) -> Pred:
    """one2many values are not stored: go through the inverse many2one."""
    inverse = field.inverse_name
    owners, nonempty = set(), set()
    for rec in resolver.table(field.relation).values():
        parent = rec.get(inverse)
        if parent:
            nonempty.add(parent)
            if rec["id"] in members:
                owners.add(parent)

    def contains(r):
        return (r["id"] not in nonempty) if want_empty and r["id"] not in nonempty \
            else r["id"] in owners
    return contains if positive else (lambda r: not contains(r))


def _hierarchy(field, op, value, model, resolver) -> Pred:
    target = model.name if field.name == "id" else field.relation
    if target is None:
        raise ValueError(f"Invalid leaf {(field.name, op, value)!r}: {op} needs a relational field")
    comodel = resolver.registry[target]
    if isinstance(value, str):
        start = _related_ids(target, "ilike", value, resolver)
    else:
        start = {v for v in _ids_of(value) if not _is_null(v)}
    table = resolver.table(target)
    parent = comodel.parent_name
    found = set(start)
    if parent and op == "child_of":
        children: dict[int, list[int]] = {}
        for rec in table.values():
            if rec.get(parent):
                children.setdefault(rec[parent], []).append(rec["id"])
        todo = list(start)
        while todo:
            for child in children.get(todo.pop(), ()):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    elif parent:
        todo = list(start)
        while todo:
            rec = table.get(todo.pop())
            up = rec.get(parent) if rec else False
            if up and up not in found:
                found.add(up)
                todo.append(up)
    found &= set(table)
    fname = field.name
    if field.type in ("many2many", "one2many"):
        return _relational(field, "in", sorted(found), resolver)
    return lambda r: r.get(fname) in found
