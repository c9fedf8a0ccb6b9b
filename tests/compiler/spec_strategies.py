"""The hypothesis strategies of test_spec_property.py: random specs a team could plausibly write, drawn
so they ought to be valid (what they cover: that module's docstring). Kept out of the test module to keep
both under the size limits (issue 16); moved as they were, so the drawn examples are unchanged.
"""
from __future__ import annotations

import datetime as _dt

from hypothesis import strategies as st

from generator.quoting import RESERVED
from generator.sqltypes import INTEGER_RANGE

SQL_WORDS = """name value key level action data position year month day hour minute comment owner role schema
sequence text date json index option password session system version zone time timestamp interval boolean
integer numeric bigint smallint char varchar decimal real float int label type types range owned share
""".split()
PYTHON_WORDS = """class def lambda import async await yield pass global nonlocal raise try del assert finally
while elif if break continue return none self print str float list dict object model_config model_fields
json copy dict schema_json validate fields _secret _ __init__ __class__ __dict__""".split()
JS_WORDS = """constructor prototype function var let const typeof new delete this super void static export
extends instanceof debugger switch catch throw undefined nan infinity arguments eval valueof tostring
hasownproperty isprototypeof __definegetter__ __lookupsetter__ then""".split()
# Columns specgen adds (docs/spec-language.md, "Columns specgen adds") and names the strategy gives itself.
TAKEN = {"id", "org_id", "instance_id", "odoo_id", "odoo_write_date", "synced_at", "odoo_deleted_at",
         "created_at", "updated_at", "created_by", "member_user", "member_role", "tenant_ref"}
WORDS = sorted({w for w in SQL_WORDS + PYTHON_WORDS + JS_WORDS if w not in RESERVED and w not in TAKEN})
# Expressions of `where:` are SQL written as is: a column named like an SQL keyword may not parse there.
PLAIN = [w for w in WORDS if w not in SQL_WORDS and w not in {"then"}]


def _long(word: str, size: int) -> str:
    return (word + "_" + "x" * 63)[:size]


NAME = st.one_of(st.sampled_from(WORDS), st.sampled_from(WORDS).flatmap(
    lambda w: st.integers(max(len(w) + 2, 50), 63).map(lambda n: _long(w, n))))
LABEL = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(
    lambda s: len(s.encode("utf-8")) <= 63) | st.sampled_from(
    ["😀 happy", 'say "hi"', "it's", "back\\slash", "two\nlines", "null", "NULL", " padded ", "{a,b}", "$$", "é"])
LABELS = st.lists(LABEL, min_size=1, max_size=5, unique=True)
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=15)
JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | TEXT,
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                    max_leaves=6)
SCALAR_BASES = ["uuid", "text", "varchar", "smallint", "integer", "bigint", "numeric", "boolean", "date",
                "timestamptz", "jsonb", "enum"]
UUIDS = ["3f0e6a56-6a5e-4c43-9d0e-9a3c62f7c9b1", "00000000-0000-0000-0000-000000000000"]
# Patterns one of tests/samples.py's text candidates matches, so the samples stay valid.
PATTERNS = ["^[A-Za-z]+$", "^[a-z0-9@.]+$", "^.{1,64}$", "^(Abc|acme)$", "^[^'\"\\\\]*$"]


@st.composite
def field_type(draw, enums: dict[str, list[str]]):
    """(type text, FieldType-like facts, extra keys) of one non-reference field."""
    base = draw(st.sampled_from(SCALAR_BASES))
    array = base != "jsonb" and draw(st.integers(0, 4)) == 0
    extra: dict = {}
    facts: dict = {"base": base, "array": array}
    text = base
    if base == "varchar":
        n = draw(st.sampled_from([1, 2, 3, 12, 63, 255, 10485760]))
        text, facts["length"] = f"varchar({n})", n
    elif base == "numeric":
        form = draw(st.integers(0, 2))
        if form == 1:
            p = draw(st.sampled_from([1, 2, 5, 18, 19, 20, 38, 39, 100, 1000]))
            text, facts["p"], facts["s"] = f"numeric({p})", p, 0
        elif form == 2:
            p = draw(st.sampled_from([2, 4, 10, 19, 20, 39, 100, 1000]))
            # samples.py uses 1.5 for a numeric with a scale: keep one integer digit
            s = draw(st.integers(0, p - 1))
            text, facts["p"], facts["s"] = f"numeric({p},{s})", p, s
    elif base == "enum":
        if enums and draw(st.booleans()):
            name = draw(st.sampled_from(sorted(enums)))
            extra["enum"], facts["values"] = name, enums[name]
        else:
            values = draw(LABELS)
            extra["values"], facts["values"] = values, values
    return text + ("[]" if array else ""), facts, extra


@st.composite
def scalar_default(draw, facts: dict):
    base = facts["base"]
    if base == "uuid":
        return draw(st.sampled_from(UUIDS))
    if base == "text":
        return draw(TEXT)
    if base == "varchar":
        return draw(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                            max_size=min(facts["length"], 10)))
    if base in INTEGER_RANGE:
        low, high = INTEGER_RANGE[base]
        return draw(st.integers(low, high) | st.sampled_from([low, high, 0, -1]))
    if base == "numeric":
        if "p" not in facts:
            return draw(st.integers(-10**12, 10**12) | st.sampled_from([1.5, -0.25]))
        p, s = facts["p"], facts["s"]
        whole = draw(st.integers(0, min(10 ** min(p - s, 12) - 1, 10**12)))
        if s == 0:
            return whole * draw(st.sampled_from([1, -1]))
        digits = min(s, 3)
        frac = draw(st.integers(0, 10**digits - 1)) / 10**digits
        return round(whole + frac, digits) if whole < 10**9 else whole
    if base == "boolean":
        return draw(st.booleans())
    if base == "date":  # a date object (YAML writes it unquoted) or its text (quoted): both are dates
        day = draw(st.sampled_from([_dt.date(2026, 1, 31), _dt.date(1970, 1, 1), _dt.date(2000, 2, 29),
                                    _dt.date(9999, 12, 31)]))
        return day if draw(st.booleans()) else day.isoformat()
    if base == "enum":
        return draw(st.sampled_from(facts["values"]))
    raise AssertionError(base)


@st.composite
def plain_field(draw, name: str, enums: dict[str, list[str]]):
    text, facts, extra = draw(field_type(enums))
    field: dict = {"name": name, "type": text, **extra}
    base = facts["base"]
    if draw(st.booleans()):
        field["required"] = True
    choice = draw(st.integers(0, 3))
    if choice == 0 and base == "timestamptz" and not facts["array"]:
        field["default_sql"] = "now()"
    elif choice == 0 and base == "uuid" and not facts["array"]:
        field["default_sql"] = "gen_random_uuid()"
    elif choice == 0 and base == "jsonb":  # JSON null in a required column: see test_a_json_null_default_...
        field["default"] = draw(JSON.filter(lambda v: v is not None or not field.get("required")))
    elif choice == 0 and base != "timestamptz":
        if facts["array"]:
            field["default"] = draw(st.lists(scalar_default(facts), max_size=3))
        else:
            field["default"] = draw(scalar_default(facts))
    elif choice == 1 and not facts["array"] and base in ("text", "varchar"):
        limit = facts.get("length", 100)
        check = {}
        if draw(st.booleans()):
            check["min_length"] = draw(st.integers(0, 1))
        if draw(st.booleans()):
            check["max_length"] = draw(st.integers(3, max(3, min(limit, 80))))
        if draw(st.booleans()):
            check["pattern"] = draw(st.sampled_from(PATTERNS))
        if check and limit >= 3:
            field["check"] = check
    elif choice == 1 and not facts["array"] and base in (*INTEGER_RANGE, "numeric") and \
            facts.get("p", 3) - facts.get("s", 0) >= 2:
        low, high = INTEGER_RANGE.get(base, (-99, 99))
        lo = draw(st.integers(max(low, -99), 1))
        field["check"] = {"min": lo, "max": draw(st.integers(max(lo, 2), min(high, 99)))}
    if draw(st.integers(0, 5)) == 0:
        field["unique"] = True
    if draw(st.integers(0, 4)) == 0:
        field["description"] = draw(TEXT)
    if draw(st.integers(0, 6)) == 0:
        field["pii"] = True
    return field, facts


def _clash_free(names: list[str]) -> bool:
    """No derived name (`<table>_<field>...`, inline enum `<table>_<field>`) of one name can be another
    name or another's derived name: no name starts with another name and `_`."""
    return all(a == b or not b.startswith(a + "_") for a in names for b in names)

@st.composite
def specs(draw):
    tenancy = draw(st.booleans())
    names, enum_names = _draw_names(draw, tenancy)
    enums = {n: draw(LABELS) for n in enum_names}
    roles = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3, unique=True))
    tenant_column = draw(st.sampled_from(["org_id", "tenant_ref", "workspace_id"]))
    spec: dict = {"version": 1, "project": {"name": "prop", "version": "0.1.0",
                                            "description": draw(TEXT)}}
    entities: list[dict] = []
    mapped: set[str] = set()
    if tenancy:
        names = _tenancy(spec, entities, names, tenant_column, roles)
    owners = {n: draw(st.sampled_from(["app", "app", "odoo", "shared"])) for n in names}
    facts_of: dict[str, dict[str, dict]] = {}
    for position, name in enumerate(names):
        entity, facts = _draw_entity(draw, name, position, names, owners[name], tenancy=tenancy,
                                     tenant_column=tenant_column, enums=enums, mapped=mapped)
        facts_of[name] = facts
        entities.append(entity)
    _drop_unmapped_many2ones(entities, mapped)
    spec["api"] = {"exposed_schemas": draw(st.sampled_from([["app"], ["app", "odoo"]]))}
    if enums:
        spec["enums"] = {n: {"values": v} for n, v in enums.items()}
    spec["entities"] = entities
    return spec, draw(roles_doc(spec, roles, facts_of))


# The helpers below take specs' own `draw` (they are not strategies of their own): the draws happen in
# the order, and with the structure, they had when specs was one function, so the examples stay the same.

def _draw_names(draw, tenancy: bool) -> tuple[list[str], list[str]]:
    """Entity names (two more with tenancy: its root and membership) and named enums' names, clash free."""
    names = draw(st.lists(NAME, min_size=2 + 2 * tenancy, max_size=5 + 2 * tenancy, unique=True))
    enum_names = draw(st.lists(NAME.map(lambda n: n if len(n) > 50 else n + "_choice"), max_size=2, unique=True))
    enum_names = [n for n in enum_names if n not in names]
    if not _clash_free(names + enum_names):
        names = [f"t{i}_{n}"[:63] for i, n in enumerate(names)]
        enum_names = [f"e{i}_{n}"[:63] for i, n in enumerate(enum_names)]
    return names, enum_names


def _tenancy(spec: dict, entities: list[dict], names: list[str], tenant_column: str, roles: list[str]) -> list[str]:
    """The first two names become the tenancy root and membership entities; returns the other names."""
    root, membership, names = names[0], names[1], names[2:]
    spec["tenancy"] = {"root": root, "column": tenant_column,
                       "membership": {"entity": membership, "user": "member_user", "role": "member_role"}}
    entities.append({"name": root, "fields": [{"name": "title", "type": "text", "required": True}]})
    entities.append({"name": membership, "fields": [
        {"name": "member_user", "references": "auth.users", "on_delete": "cascade", "required": True},
        {"name": "member_role", "type": "enum", "values": list(reversed(roles)), "required": True,
         "default": roles[0]}], "unique": [[tenant_column, "member_user"]]})
    return names


def _draw_entity(draw, name: str, position: int, names: list[str], owner: str, *, tenancy: bool,
                 tenant_column: str, enums: dict[str, list[str]], mapped: set[str]) -> tuple[dict, dict]:
    """One entity of `names` (its fields, uniques, indexes, Odoo mapping) and the facts of its fields."""
    entity: dict = {"name": name}
    if owner != "app":
        entity["owner"] = owner
    if tenancy and draw(st.integers(0, 3)) == 0:
        entity["scope"] = "global"
    if draw(st.integers(0, 5)) == 0:
        entity["description"] = draw(TEXT)
    if draw(st.integers(0, 5)) == 0:
        entity["timestamps"] = False
    if draw(st.integers(0, 5)) == 0:
        entity["audit"] = True
    # the sync keys the rows it mirrors by a uuid: other key types only on app-owned entities
    key_type = draw(st.sampled_from([None, None, "text", "bigint", "integer", "varchar(40)", "uuid"]
                                    if owner == "app" else [None, "uuid"]))
    if key_type:
        entity["primary_key"] = {"name": "id", "type": key_type}
    fields, facts = _draw_fields(draw, position, names, owner, tenant_column, enums)
    entity["fields"] = fields
    columns = [f["name"] for f in fields]
    if len(columns) >= 2 and draw(st.booleans()):
        entity["unique"] = [draw(st.lists(st.sampled_from(columns), min_size=2, max_size=2, unique=True))]
    indexes = _draw_indexes(draw, name, columns, facts)
    if indexes:
        entity["indexes"] = indexes
    if owner != "app":
        entity["odoo"] = draw(odoo_mapping(name, owner, fields, mapped, names))
        mapped.add(name)
    return entity, facts


def _draw_fields(draw, position: int, names: list[str], owner: str, tenant_column: str,
                 enums: dict[str, list[str]]) -> tuple[list[dict], dict[str, dict]]:
    field_names = draw(st.lists(st.sampled_from(WORDS).filter(lambda w: w not in (tenant_column, "title")),
                                min_size=1, max_size=6, unique=True))
    fields, facts = [], {}
    for fname in field_names:
        if draw(st.integers(0, 3)) == 0:  # a reference: earlier entities may be required, others not
            target = draw(st.sampled_from([*names[:position + 1], *names[position + 1:], "auth.users"]))
            field = {"name": fname, "references": target}
            earlier = target == "auth.users" or names.index(target) < position
            if earlier and draw(st.booleans()):
                field["required"] = True
            choices = ["cascade", "restrict", "no action"] + ([] if field.get("required") else
                                                              ["set null", "set default"])
            if draw(st.booleans()):
                field["on_delete"] = draw(st.sampled_from(choices))
            fields.append(field)
            facts[fname] = {"base": "reference", "array": False}
            continue
        field, f = draw(plain_field(fname, enums))
        fields.append(field)
        facts[fname] = f
    if owner != "app":  # something the mapping fills whatever happens to its references
        fields.append({"name": "title", "type": "text", "required": draw(st.booleans())})
        facts["title"] = {"base": "text", "array": False}
    if owner != "odoo" and draw(st.booleans()):
        fields.append({"name": "created_by", "type": "uuid", "default_sql": "auth.uid()"})
        facts["created_by"] = {"base": "uuid", "array": False, "owner": True}
    return fields, facts


def _draw_indexes(draw, name: str, columns: list[str], facts: dict[str, dict]) -> list[dict]:
    indexes = []
    for k in range(draw(st.integers(0, 2))):
        col = draw(st.sampled_from(columns))
        f = facts[col]
        index: dict = {"columns": [col]}
        if f["base"] == "jsonb" or f["array"]:
            index["method"] = "gin"
        elif f["base"] not in ("boolean",) and draw(st.integers(0, 3)) == 0:
            index["method"] = "hash"
        elif draw(st.booleans()):
            index["unique"] = True
            index["name"] = f"{name[:50]}_u{k}_uidx"
        if "method" not in index and col in PLAIN and draw(st.booleans()):
            index["where"] = f"{col} is not null"
            index.setdefault("name", f"{name[:50]}_p{k}_idx")
        if all((i["columns"], i.get("unique"), i.get("name")) != (index["columns"], index.get("unique"),
                                                                  index.get("name")) for i in indexes):
            indexes.append(index)
    return indexes


def _drop_unmapped_many2ones(entities: list[dict], mapped: set[str]) -> None:
    """many2one needs a mapped target: drop mappings of references whose target is not mapped."""
    for entity in entities:
        if "odoo" in entity:
            by_name = {f["name"]: f for f in entity["fields"]}
            for column, target in list(entity["odoo"]["fields"].items()):
                if isinstance(target, dict) and "many2one" in target and target["many2one"] not in mapped | {
                        entity["name"]}:
                    del entity["odoo"]["fields"][column]
                    if by_name[column].get("required"):
                        del by_name[column]["required"]


@st.composite
def odoo_mapping(draw, name: str, owner: str, fields: list[dict], mapped: set[str], names: list[str]):
    """Map every field the sync can fill; a reference is a many2one (to a mapped entity, fixed up after)."""
    mapping: dict = {"model": f"x_{name[:40]}.record", "fields": {}}
    for field in fields:
        col = field["name"]
        if col == "created_by":
            continue
        if "references" in field:
            if field["references"] in names:
                mapping["fields"][col] = {"field": f"{col}_ref", "many2one": field["references"]}
            elif field.get("required"):
                field.pop("required")
            continue
        if field.get("type") == "enum" and draw(st.booleans()):
            mapping["fields"][col] = {"field": f"x_{col}", "selection": True}
        else:
            mapping["fields"][col] = col if draw(st.booleans()) else f"x_{col}"
    if draw(st.booleans()):
        mapping["domain"] = draw(st.sampled_from([[["active", "=", True]],
                                                  ["|", ["state", "=", "done"], ["state", "in", ["a", "b"]]],
                                                  ["!", ["name", "ilike", "it's"]]]))
    sync: dict = {"batch_size": draw(st.sampled_from([1, 100, 500]))}
    if owner == "shared":
        sync["direction"] = draw(st.sampled_from(["pull", "push", "both"]))
        sync["conflict"] = draw(st.sampled_from(["odoo_wins", "app_wins", "last_write_wins", "field_merge"]))
    else:
        sync["direction"] = "pull"
    mapping["sync"] = sync
    return mapping


@st.composite
def roles_doc(draw, spec: dict, roles: list[str], facts_of: dict[str, dict]):
    """Roles ordered from least to most, each inheriting the previous; grants that suit each entity."""
    tenancy = spec.get("tenancy")
    doc: dict = {"version": 1, "roles": []}
    if tenancy:
        for i, role in enumerate(roles):
            doc["roles"].append({"name": role, **({"inherits": roles[i - 1]} if i else {})})
    doc["roles"].append({"name": "sync_bot", "system": "service_role"})
    permissions: dict = {}
    for entity in spec["entities"]:
        name = entity["name"]
        owner = entity.get("owner", "app")
        tenant = tenancy and name != tenancy["root"] and entity.get("scope") != "global"
        has_owner = any(f["name"] == "created_by" for f in entity["fields"])
        commands: dict = {}
        for command in ("select", "insert", "update", "delete"):
            if draw(st.integers(0, 2)) == 0 or (command != "select" and owner == "odoo"):
                continue
            if not tenancy:
                if command == "select":
                    commands[command] = {"role": "anon"}
                continue
            rows = ["org"] if (tenant or name == tenancy["root"]) else ["all"]
            if has_owner:
                rows.append("own")
            grant = {"role": draw(st.sampled_from(roles)), "rows": draw(st.sampled_from(rows))}
            if command == "select" and not tenant and draw(st.integers(0, 3)) == 0:
                grant = {"role": "anon"}
            commands[command] = grant
        if commands:
            permissions[name] = commands
    if permissions:
        doc["permissions"] = permissions
    if tenancy and draw(st.booleans()):
        doc["memberships"] = {"ceiling": "own_rank", "keep_one": roles[-1]}
    if tenancy and draw(st.booleans()):
        doc["sso"] = {"claim_path": "app_metadata.groups", "groups": {f"idp-{r}": r for r in roles}}
    return doc
