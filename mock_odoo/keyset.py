"""Keyset pages served from a sorted (field, id) list: a speed device of the mock, not of Odoo.

``env`` is the call's ``orm.Env``. Odoo 17 has no index on write_date; these functions only make
the mock's answers cheap, and give the same ids as the generic path of ``Env.search``.
"""
from __future__ import annotations

import bisect

from . import domain as domains


def keyset_page(env, model, domain, offset: int, limit: int, order) -> list[int] | None:
    """A keyset page served from a sorted list of (field, id), or None for the generic path.

    A speed device of the mock only: Odoo 17 has NO index on write_date (models.py magic fields
    have no ``index=True``), so PostgreSQL sorts. The answers are the same ids as the generic path
    (tests compare both), with values compared as stored (microseconds included). Shapes:

    - ``['|', (f,'>',v), '&', (f,'=',v), ('id','>',i), *rest]`` ordered ``f, id`` (the classic keyset);
    - ``[(f,'>=',v), *rest]`` ordered ``f, id`` (bridge/sync/cursor.py scan);
    - ``[(f,'>=',v), (f,'<',w), ('id','>',i), *rest]`` ordered ``id`` (bridge/sync/cursor.py drain).
    """
    m = env.model(model)
    if not isinstance(domain, (list, tuple)) or not domain:
        return None
    shape = _keyset_shape(env, m, list(domain), order)
    if shape is None:
        return None
    f1, lo, hi, after, by_id, rest = shape
    if env.active_test() and "active" in m.fields and not any(
            domains.is_leaf(leaf) and leaf[0] == "active" for leaf in rest):
        rest = [("active", "=", True)] + rest
    pred = domains.compile_domain(rest, model, env) if rest else None
    table = env.table(model)
    cached = env.db._ordered.get((model, f1))
    if cached is None or cached[0] != env.version:
        index = sorted((rec[f1], i) for i, rec in table.items() if isinstance(rec.get(f1), str))
        env.db._ordered[(model, f1)] = cached = (env.version, index)
    index = cached[1]
    first = bisect.bisect_left(index, lo)
    want = offset + limit
    if by_id:  # one bounded range (a second), re-sorted by id
        stop = bisect.bisect_left(index, hi)
        ids = sorted(i for _v, i in index[first:stop] if i > after and (pred is None or pred(table[i])))
        return ids[offset:want]
    out: list[int] = []
    for pos in range(first, len(index)):
        v, i = index[pos]
        if (v, i) > lo and (pred is None or pred(table[i])):
            out.append(i)
            if len(out) >= want:
                break
    return out[offset:]

def _keyset_shape(env, m, domain: list, order):
    """(field, low bound, high bound, id after, ordered by id, rest) for a shape above, or None."""
    def dt_field(name):
        f = m.fields.get(name)
        return f if f is not None and f.store and f.type in ("datetime", "date") else None

    def value(f, v):
        v = domains._coerce(f, v)
        return v if isinstance(v, str) else None
    leaves = [tuple(x) if domains.is_leaf(x) else x for x in domain]
    keys = env.order_keys(m, order)
    if len(leaves) >= 5 and leaves[0] == "|" and leaves[2] == "&" \
            and all(isinstance(leaves[k], tuple) for k in (1, 3, 4)):
        (f1, op1, v1), (f2, op2, v2), (f3, op3, v3) = leaves[1], leaves[3], leaves[4]
        f = dt_field(f1)
        if f is None or f1 != f2 or (op1, op2, f3, op3) != (">", "=", "id", ">") or type(v3) is not int:
            return None
        v = value(f, v1)
        if v is None or v != value(f, v2) or keys != [(f1, False), ("id", False)]:
            return None
        return f1, (v, v3), None, v3, False, leaves[5:]
    if not isinstance(leaves[0], tuple) or leaves[0][1] != ">=" or dt_field(leaves[0][0]) is None:
        return None
    f1 = leaves[0][0]
    f = dt_field(f1)
    lo = value(f, leaves[0][2])
    if lo is None:
        return None
    if len(leaves) >= 3 and all(isinstance(x, tuple) for x in leaves[1:3]) and leaves[1][:2] == (f1, "<") \
            and leaves[2][:2] == ("id", ">") and type(leaves[2][2]) is int and keys == [("id", False)]:
        hi = value(f, leaves[1][2])
        return None if hi is None else (f1, (lo,), (hi,), leaves[2][2], True, leaves[3:])
    if keys == [(f1, False), ("id", False)]:
        return f1, (lo,), None, 0, False, leaves[1:]
    return None
