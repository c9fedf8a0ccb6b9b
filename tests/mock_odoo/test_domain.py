"""Domains: every operator, prefix &/|/!, dotted paths and bad domains, over real RPC."""
from __future__ import annotations

import xmlrpc.client

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from mock_odoo.demo import seed_base, seed_demo
from mock_odoo.domain import parse, sql_like_regex
from mock_odoo.keyset import keyset_page
from mock_odoo.orm import Database
from mock_odoo.standard import standard_registry

ROWS = [  # name, parent, city, email, customer_rank, active, is_company
    ("Globex", None, "Paris", "info@globex.com", 2, True, True),
    ("Alice Smith", "Globex", "Paris", "alice@globex.com", 3, True, False),
    ("bob jones", None, "Lyon", False, 1, True, False),
    ("Carol_Smith", "Globex", False, "carol@x.org", 0, True, False),
    ("Dave 100%", None, "paris", "dave@x.org", 5, False, False),
    ("Globex Sub", "Globex", "Berlin", False, None, True, True),
    ("Eve", "Globex Sub", False, "eve@sub.com", 4, True, False),
]


@pytest.fixture()
def people(odoo):
    """The ROWS above as partners; returns {name: id}, plus the VIP tag id under 'vip'."""
    vip = odoo.x("res.partner.category", "create", {"name": "VIP"})
    ids = {}
    for name, parent, city, email, rank, active, company in ROWS:
        vals = {"name": name, "city": city, "email": email, "active": active, "is_company": company}
        if parent:
            vals["parent_id"] = ids[parent]
        if rank is not None:
            vals["customer_rank"] = rank
        if name == "Alice Smith":
            vals["category_id"] = [[6, 0, [vip]]]
        ids[name] = odoo.x("res.partner", "create", vals)
    ids["vip"] = vip
    return ids


def names(odoo, people, domain, **kwargs):
    scope = [["id", "in", [v for k, v in people.items() if k != "vip"]]]
    rows = odoo.x("res.partner", "search_read", scope + list(domain), ["name"], **kwargs)
    return sorted(r["name"] for r in rows)


CASES = [
    ([("city", "=", "Paris")], ["Alice Smith", "Globex"]),
    ([("city", "!=", "Paris")], ["Carol_Smith", "Eve", "Globex Sub", "bob jones"]),
    ([("customer_rank", ">", 2)], ["Alice Smith", "Eve"]),
    ([("customer_rank", ">=", 3)], ["Alice Smith", "Eve"]),
    ([("customer_rank", "<", 2)], ["Carol_Smith", "bob jones"]),
    ([("customer_rank", "<=", 0)], ["Carol_Smith"]),
    ([("city", "=?", False)], ["Alice Smith", "Carol_Smith", "Eve", "Globex", "Globex Sub", "bob jones"]),
    ([("city", "=?", "Lyon")], ["bob jones"]),
    ([("name", "like", "Smith")], ["Alice Smith", "Carol_Smith"]),
    ([("name", "like", "smith")], []),
    ([("name", "ilike", "SMITH")], ["Alice Smith", "Carol_Smith"]),
    ([("name", "not like", "Smith")], ["Eve", "Globex", "Globex Sub", "bob jones"]),
    ([("name", "not ilike", "globex")], ["Alice Smith", "Carol_Smith", "Eve", "bob jones"]),
    # like/ilike wrap the value in %...% unescaped (expression.py 17.0): its % and _ are wildcards
    ([("name", "like", "e_S")], ["Alice Smith"]),
    ([("name", "ilike", "A%H")], ["Alice Smith", "Carol_Smith"]),
    ([("name", "not like", "e_S")], ["Carol_Smith", "Eve", "Globex", "Globex Sub", "bob jones"]),
    ([("name", "like", "l\\_S")], ["Carol_Smith"]),
    ([("name", "=like", "%l_Smith")], ["Carol_Smith"]),
    ([("name", "=like", "Bob%")], []),
    ([("name", "=ilike", "Bob%")], ["bob jones"]),
    ([("name", "=ilike", "BOB JONES")], ["bob jones"]),
    ([("city", "in", ["Paris", "Lyon"])], ["Alice Smith", "Globex", "bob jones"]),
    ([("city", "in", ["Lyon", False])], ["Carol_Smith", "Eve", "bob jones"]),
    ([("city", "not in", ["Paris"])], ["Carol_Smith", "Eve", "Globex Sub", "bob jones"]),
    ([("city", "not in", ["Paris", False])], ["Globex Sub", "bob jones"]),
    ([("email", "!=", False)], ["Alice Smith", "Carol_Smith", "Eve", "Globex"]),
    ([("email", "=", False)], ["Globex Sub", "bob jones"]),
    ([("parent_id", "=", False)], ["Globex", "bob jones"]),
    ([("parent_id", "ilike", "globex")], ["Alice Smith", "Carol_Smith", "Eve", "Globex Sub"]),
    ([("parent_id.city", "=", "Paris")], ["Alice Smith", "Carol_Smith", "Globex Sub"]),
    ([("parent_id", "any", [("city", "=", "Paris"), ("is_company", "=", True)])],
     ["Alice Smith", "Carol_Smith", "Globex Sub"]),
    ([("parent_id", "not any", [("city", "=", "Paris")])], ["Eve", "Globex", "bob jones"]),
    ([("child_ids", "any", [("name", "=", "Eve")])], ["Globex Sub"]),
    ([("child_ids", "=", False)], ["Alice Smith", "Carol_Smith", "Eve", "bob jones"]),
    (["|", ("city", "=", "Lyon"), ("customer_rank", "=", 4)], ["Eve", "bob jones"]),
    (["!", ("city", "=", "Paris")], ["Carol_Smith", "Eve", "Globex Sub", "bob jones"]),
    (["&", "|", ("city", "=", "Paris"), ("city", "=", "Lyon"), ("is_company", "=", False)],
     ["Alice Smith", "bob jones"]),
    (["!", "|", ("city", "=", "Paris"), ("email", "=", False)], ["Carol_Smith", "Eve"]),
    ([("city", "=", "Paris"), ("is_company", "=", False)], ["Alice Smith"]),
    ([(1, "=", 1)], ["Alice Smith", "Carol_Smith", "Eve", "Globex", "Globex Sub", "bob jones"]),
    ([(0, "=", 1)], []),
]


@pytest.mark.parametrize("domain,expected", CASES, ids=[repr(c[0]) for c in CASES])
def test_domain_operator(odoo, people, domain, expected):
    """Each operator selects exactly the records Odoo would (archived ones hidden)."""
    assert names(odoo, people, domain) == expected


def test_child_of_and_parent_of(odoo, people):
    """child_of walks parent_id down (including the start); parent_of walks it up."""
    assert names(odoo, people, [("id", "child_of", people["Globex"])]) == \
        ["Alice Smith", "Carol_Smith", "Eve", "Globex", "Globex Sub"]
    assert names(odoo, people, [("id", "child_of", [people["Globex Sub"]])]) == ["Eve", "Globex Sub"]
    assert names(odoo, people, [("id", "parent_of", people["Eve"])]) == ["Eve", "Globex", "Globex Sub"]
    assert names(odoo, people, [("parent_id", "child_of", people["Globex Sub"])]) == ["Eve"]


def test_many2many_in_and_empty(odoo, people):
    """category_id in [tag] finds tagged partners; = False finds untagged ones."""
    assert names(odoo, people, [("category_id", "in", [people["vip"]])]) == ["Alice Smith"]
    assert "Alice Smith" not in names(odoo, people, [("category_id", "=", False)])
    assert names(odoo, people, [("category_id", "ilike", "vip")]) == ["Alice Smith"]


def test_archived_records_appear_with_active_test_false(odoo, people):
    """The same domain finds archived records when active_test is False."""
    assert names(odoo, people, [("city", "=ilike", "paris")]) == ["Alice Smith", "Globex"]
    assert names(odoo, people, [("city", "=ilike", "paris")], context={"active_test": False}) == \
        ["Alice Smith", "Dave 100%", "Globex"]


def test_like_escapes_percent_and_underscore(odoo, people):
    """like matches % and _ literally; =like treats them as wildcards unless escaped."""
    assert names(odoo, people, [("name", "like", "100%")], context={"active_test": False}) == ["Dave 100%"]
    assert names(odoo, people, [("name", "=like", "Carol\\_%")]) == ["Carol_Smith"]


@pytest.mark.parametrize("domain,message", [
    ([("name", "bogus", 1)], "Invalid leaf"),
    ([("nope", "=", 1)], "Invalid field res.partner.nope"),
    (["|", ("name", "=", "x")], "syntactically not correct"),
    ([("name", "=")], "Invalid leaf"),
    ("name = x", "a domain is a list"),
    ([("city", "any", [])], "Invalid leaf"),
])
def test_bad_domains_are_value_errors(odoo, domain, message):
    """Malformed domains fail with fault 1 carrying Odoo's message, not a crash."""
    with pytest.raises(xmlrpc.client.Fault) as err:
        odoo.x("res.partner", "search", domain)
    assert err.value.faultCode == 1 and message in err.value.faultString
    error = odoo.j_error("res.partner", "search", domain)
    assert error["data"]["name"] == "builtins.ValueError"


def test_parse_adds_implicit_and():
    """Consecutive terms are and-ed, as in Odoo's normalize_domain."""
    assert parse([("a", "=", 1), ("b", "=", 2)]) == ("&", ("a", "=", 1), ("b", "=", 2))
    assert parse([]) == (1, "=", 1)


def test_sql_like_regex():
    """SQL LIKE patterns: % any run, _ one char, backslash escapes."""
    assert sql_like_regex("a%c").match("abbbc") and not sql_like_regex("a%c").match("abbbd")
    assert sql_like_regex("a_c").match("abc") and not sql_like_regex("a_c").match("abbc")
    assert sql_like_regex("a\\%").match("a%") and not sql_like_regex("a\\%").match("ab")


# -- algebraic properties, checked on the ORM directly (no HTTP) --------------------------

_DB = Database(standard_registry())
seed_base(_DB)
seed_demo(_DB, 40)
_ENV = _DB.env()
_ALL = set(_ENV.search_ids("res.partner", [], active_test=False))

leaves = st.one_of(
    st.tuples(st.just("city"), st.sampled_from(["=", "!=", "ilike", "not ilike", "in", "not in", "=?"]),
              st.sampled_from(["Brussels", "Paris", "a", False])).map(
        lambda t: (t[0], t[1], [t[2]] if t[1] in ("in", "not in") else t[2])),
    st.tuples(st.just("customer_rank"), st.sampled_from(["=", "!=", ">", ">=", "<", "<="]),
              st.integers(0, 3)),
    st.tuples(st.just("is_company"), st.sampled_from(["=", "!="]), st.booleans()),
    st.tuples(st.just("parent_id"), st.sampled_from(["=", "!="]), st.sampled_from([False, 4, 5])),
    st.tuples(st.just("name"), st.sampled_from(["like", "ilike", "=like", "=ilike", "not like"]),
              st.sampled_from(["a", "A%", "%o%", "_z%"])),
)
domains = st.recursive(leaves.map(lambda leaf: [leaf]),
                       lambda inner: st.one_of(
                           st.tuples(st.sampled_from(["&", "|"]), inner, inner).map(
                               lambda t: [t[0], *t[1], *t[2]]),
                           inner.map(lambda d: ["!", *d])),
                       max_leaves=6)


def _ids(domain):
    return set(_ENV.search_ids("res.partner", domain, active_test=False))


def _has_ordered_comparison(domain):
    return any(isinstance(leaf, tuple) and leaf[1] in (">", ">=", "<", "<=") for leaf in domain)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(domains, domains)
def test_domain_algebra(a, b):
    """'!' is the complement, '|' the union and '&' the intersection of the parts.

    As in Odoo (and SQL), an ordered comparison is false for empty values under '!' too,
    so with those '!' only gives a subset of the complement.
    """
    if _has_ordered_comparison(a):
        assert _ids(["!", *a]) <= _ALL - _ids(a)
    else:
        assert _ids(["!", *a]) == _ALL - _ids(a)
    assert _ids(["|", *a, *b]) == _ids(a) | _ids(b)
    assert _ids(["&", *a, *b]) == _ids(a) & _ids(b)
    assert _ids(a + b) == _ids(a) & _ids(b)


# -- the keyset seek (an "index" on (write_date, id)) returns what a full scan returns ------------

_KDB = Database(standard_registry())
seed_base(_KDB)
seed_demo(_KDB, 60)
_STAMPS = ["2026-01-01 10:00:00", "2026-01-01 10:00:00.400000", "2026-01-01 10:00:01.000001", "2026-03-04 05:06:07"]
for _n, _rec in enumerate(sorted(_KDB.table("res.partner").values(), key=lambda r: r["id"])):
    _rec["write_date"] = _STAMPS[_n % 7 % 4] if _n % 11 else False  # many ties, some without a stamp
_KDB.version += 1
_KIDS = sorted(_KDB.table("res.partner"))


_QUERY_STAMPS = _STAMPS + ["2025-12-31 23:59:59", "2026-01-01T10:00:00", "2026-01-01", "2026-01-01 10:00:01"]


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(stamp=st.sampled_from(_QUERY_STAMPS), upper=st.sampled_from(_QUERY_STAMPS),
       last_id=st.sampled_from([0, *_KIDS[::5], 10**6]), rest=st.one_of(st.just([]), domains),
       offset=st.integers(0, 5), limit=st.integers(1, 40), active_test=st.booleans())
def test_cursor_scan_and_drain_seeks_match_full_scan(stamp, upper, last_id, rest, offset, limit, active_test):
    """bridge/sync/cursor.py's scan (>= S, by write_date, id) and drain (S <= wd < S', id > i, by id) pages
    served by the seek equal a full scan, with microsecond stamps compared as stored."""
    env = _KDB.env(context={"active_test": active_test})
    for domain, order in (([["write_date", ">=", stamp], *rest], "write_date asc, id asc"),
                          ([["write_date", ">=", stamp], ["write_date", "<", upper], ["id", ">", last_id], *rest],
                           "id asc")):
        seek = keyset_page(env, "res.partner", domain, offset, limit, order)
        assert seek is not None
        scan = env.search_ids("res.partner", domain, active_test, order)[offset:offset + limit]
        assert seek == scan


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(stamp=st.sampled_from(_QUERY_STAMPS),
       last_id=st.sampled_from([0, *_KIDS[::5], 10**6]), rest=st.one_of(st.just([]), domains),
       offset=st.integers(0, 5), limit=st.integers(1, 40), active_test=st.booleans())
def test_keyset_seek_matches_full_scan(stamp, last_id, rest, offset, limit, active_test):
    """A keyset page served by the seek equals the page of a full scan, ties and empty stamps included."""
    domain = ["|", ("write_date", ">", stamp), "&", ("write_date", "=", stamp), ("id", ">", last_id), *rest]
    env = _KDB.env(context={"active_test": active_test})
    seek = keyset_page(env, "res.partner", domain, offset, limit, "write_date asc, id asc")
    assert seek is not None  # the shape is recognised, so the fast path is what is being compared
    scan = env.search_ids("res.partner", domain, active_test, "write_date asc, id asc")[offset:offset + limit]
    assert seek == scan
    assert env.search("res.partner", domain, offset, limit, "write_date asc, id asc") == scan


def test_keyset_seek_declines_other_shapes():
    """Other orders, operators or fields take the generic path (None from the seek)."""
    env = _KDB.env(context={"active_test": False})
    base = ["|", ("write_date", ">", _STAMPS[0]), "&", ("write_date", "=", _STAMPS[0]), ("id", ">", 3)]
    assert keyset_page(env, "res.partner", base, 0, 10, "id asc") is None
    assert keyset_page(env, "res.partner", base, 0, 10, "write_date desc, id desc") is None
    other = ["|", ("name", ">", "a"), "&", ("name", "=", "a"), ("id", ">", 3)]
    assert keyset_page(env, "res.partner", other, 0, 10, "name asc, id asc") is None
    mixed = ["|", ("write_date", ">", _STAMPS[0]), "&", ("write_date", "=", _STAMPS[1]), ("id", ">", 3)]
    assert keyset_page(env, "res.partner", mixed, 0, 10, "write_date asc, id asc") is None


@pytest.mark.parametrize("domain", [
    ["|", ["name", "=", "x"]], [["name", "==", "x"]], [["name"]], [["name", "=", "x"], "!"], ["&"],
    [["parent_id", "any", [["name", "like"]]]], [["", "=", 1]], ["!", "!", ["name", "=", "x"], "|"],
    ["&", ["name", "=", "x"], ["city", "=", "y"]], ["!", ["name", "=", "x"]], [[1, "=", 1]], [[0, "=", 1]],
    [["parent_id", "any", [["name", "like", "G"]]]], [["name", "LIKE", "x"]], [],
    ["|", "!", ["name", "ilike", "a"], ["parent_id", "child_of", 1], ["city", "not in", ["x"]]],
])
def test_specgen_check_refuses_exactly_the_domains_the_mock_refuses(odoo, domain):
    """`specgen check` validates `odoo.domain` with generator/odoo_domain.py; over RPC the mock must refuse
    the same domains (on fields res.partner has, so only the shape and the operators decide)."""
    from generator.odoo_domain import DomainError, validate

    try:
        validate(domain)
        check_refuses = False
    except DomainError:
        check_refuses = True
    try:
        odoo.x("res.partner", "search", domain)
        mock_refuses = False
    except xmlrpc.client.Fault:
        mock_refuses = True
    assert check_refuses == mock_refuses
