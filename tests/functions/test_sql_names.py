"""Every spec name that reaches SQL text in the Edge Functions is quoted by one module, _shared/sqlnames.ts
(the counterpart of generator/quoting.py), and values go as bound parameters.

The guard reads the rendered _shared/*.ts, finds every template literal and fails, naming file:line, on
  - an interpolation right after a quote (`"${x}"`, `'${x}'`): quoting by hand;
  - an interpolation right after `alias.` (`j.${src}`, in SQL text or after a one-letter alias) that is not a quoting call or a name built by one;
  - in SQL text, an interpolated name or property (`${e.primary_key}`, `${tenantColumn}`) that is not built
    by the quoting module (a quoting call, or a constant assigned from one or from a plain string);
  - a spec name glued to SQL with `+` outside a quoting call.
Messages that quote a value as Python's repr() does are the only `'${` / `"${` allowed, by exact line.

The spec only allows plain lower-case names (generator/names.identifier_problem: `^[a-z_][a-z0-9_]*$`, not
reserved, at most 63 bytes; tests/compiler/golden/awkward_names keeps to them), so a pull or push of a
table that needs quoting cannot be written as a spec. The behaviour tests check ident() itself: in Deno
against generator.quoting.quote_ident for tricky names, and against a real PostgreSQL, which must create
and read back a table and columns under exactly the names given.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator.quoting import quote_ident
from tests.functions.support import deno, deno_env, functions_dir

QUOTING_MODULE = "sqlnames.ts"
QUOTING_CALL = re.compile(r"^(ident|idents|qualified|literal)\(")
# Lines (file, exact stripped text) where a `'${` or `"${` is a message, never SQL.
NOT_SQL = {
    ("conflicts.ts", "throw new RangeError(`unknown conflict policy '${policy}'; expected one of "
                     "${POLICIES.join(\", \")}`)"),
    ("convert.ts", "throw new TypeError(`int() argument must be a string, a bytes-like object or a real number, "
                   "not '${Array.isArray(value) ? \"list\" : \"dict\"}'`)"),
    ("events.ts", "return \"[\" + names.map((n) => `'${n}'`).join(\", \") + \"]\""),
    ("events.ts", "return typeof v === \"string\" ? `'${v}'` : JSON.stringify(v)"),
    ("odoo.ts", "return text.includes(\"'\") && !text.includes('\"') ? `\"${text}\"` : "
                "`'${text.replace(/\\\\/g, \"\\\\\\\\\").replace(/'/g, \"\\\\'\")}'`"),
    ("pull_write.ts", "return typeof v === \"string\" ? (v.includes(\"'\") && !v.includes('\"') ? `\"${v}\"` : "
                      "`'${v}'`) : String(v)"),
    ("push.ts", "throw new OdooError(`entity '${row.entity}' has no push adapter`, { name: \"NoAdapter\" })"),
}
# SQL text: a template with a statement's words or a fragment's marks (a cast, `excluded.`, a jsonb call).
SQL_TEXT = re.compile(r"\b(select|insert into|delete from|returning|on conflict|update\b.*\bset)\b|::|\bexcluded\.|"
                      r"\b(jsonb_\w+|to_jsonb|to_char|coalesce)\(|\bwhere\b[^\0]*[=<>]", re.S)
NAME = re.compile(r"^[A-Za-z_$][\w$]*$")
PROPERTY = re.compile(r"^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*|\[[^\]]*\])+$")
SPEC_NAME = r"\w+\.(?:schema|table|primary_key|tenant_column|source_column|target_column|column)\b"
GLUED = re.compile(rf"\+\s*({SPEC_NAME})|({SPEC_NAME})\s*\+")


@dataclass
class Hole:
    """One `${expr}` of a template literal."""
    expr: str
    line: int
    before: str  # the literal text of the template up to the hole


@dataclass
class Template:
    text: str  # the literal parts, holes as \0
    holes: list[Hole]


class _Scanner:
    """A small scanner of TypeScript source: comments, strings, regular expressions and templates;
    enough for the code we write. `found` collects the template literals, nested ones included."""

    def __init__(self, code: str):
        self.code = code
        self.found: list[Template] = []

    def line_of(self, i: int) -> int:
        return self.code.count("\n", 0, i) + 1

    def skip_string(self, i: int) -> int:
        quote = self.code[i]
        i += 1
        while self.code[i] != quote:
            i += 2 if self.code[i] == "\\" else 1
        return i + 1

    def skip_regex(self, i: int) -> int:
        i += 1
        in_class = False
        while in_class or self.code[i] != "/":
            if self.code[i] == "\\":
                i += 1
            elif self.code[i] == "[":
                in_class = True
            elif self.code[i] == "]":
                in_class = False
            i += 1
        return i + 1

    def regex_can_start(self, i: int) -> bool:
        j = i - 1
        while j >= 0 and self.code[j] in " \t\n":
            j -= 1
        if j < 0 or self.code[j] in "(,=:[!&|?{};+-*%<>~^":
            return True
        return re.search(r"\b(return|typeof|case|in|of)$", self.code[:j + 1]) is not None

    def code_until(self, i: int, close: str | None) -> int:
        """Scan self.code from i; stop after the `}` that closes a `${` (close="}") or at the end."""
        depth = 0
        while i < len(self.code):
            c = self.code[i]
            if self.code.startswith("//", i):
                i = self.code.find("\n", i)
                i = len(self.code) if i < 0 else i
            elif self.code.startswith("/*", i):
                i = self.code.index("*/", i) + 2
            elif c in "'\"":
                i = self.skip_string(i)
            elif c == "`":
                i = self.template(i)
            elif c == "/" and self.regex_can_start(i):
                i = self.skip_regex(i)
            elif c == "{":
                depth += 1
                i += 1
            elif c == "}":
                if depth == 0 and close == "}":
                    return i + 1
                depth -= 1
                i += 1
            else:
                i += 1
        return i

    def template(self, i: int) -> int:
        i += 1
        text, holes = [], []
        while self.code[i] != "`":
            if self.code[i] == "\\":
                text.append(self.code[i:i + 2])
                i += 2
            elif self.code.startswith("${", i):
                end = self.code_until(i + 2, "}")
                holes.append(Hole(self.code[i + 2:end - 1].strip(), self.line_of(i), "".join(text)))
                text.append("\0")
                i = end
            else:
                text.append(self.code[i])
                i += 1
        self.found.append(Template("".join(text), holes))
        return i + 1


def templates(code: str) -> list[Template]:
    """The template literals of TypeScript source, nested ones included."""
    scanner = _Scanner(code)
    scanner.code_until(0, None)
    return scanner.found


def built_by_quoting(name: str, code: str) -> bool:
    """Every assignment of `name` in the file (a constant, a default parameter) is a quoting call's result,
    a value built with one, or a plain string: so `${name}` in SQL carries quoted names only."""
    rhs = [m.group(1) for m in re.finditer(rf"(?<![\w$.]){re.escape(name)}\s*(?::\s*[\w<>\[\] |]+)?\s*=(?![=>])\s*(.*)",
                                           code)]
    return bool(rhs) and all(QUOTING_CALL.search(r) or re.search(r"\b(ident|idents|literal|qualified)\(", r)
                             or r.startswith('"') for r in rhs)


def problems(folder: Path) -> list[str]:
    """file:line and what is wrong, for every ad hoc name in SQL text under folder (a _shared/)."""
    out: list[str] = []
    for path in sorted(folder.glob("*.ts")):
        if path.name in (QUOTING_MODULE, "spec.ts"):
            continue
        code = path.read_text(encoding="utf-8")
        lines = code.splitlines()
        for t in templates(code):
            sql = SQL_TEXT.search(t.text) is not None
            for h in t.holes:
                where = f"{path.name}:{h.line}"
                quoted = QUOTING_CALL.match(h.expr) is not None
                if h.before.endswith(('"', "'")):
                    if (path.name, lines[h.line - 1].strip()) not in NOT_SQL:
                        out.append(f"{where}: quoted by hand: {h.before[-1]}${{{h.expr}}}")
                elif (sql or re.search(r"\b([a-z]|excluded)\.$", h.before)) and h.before.endswith(".") and not quoted and not (
                        NAME.match(h.expr) and built_by_quoting(h.expr, code)):
                    out.append(f"{where}: unquoted name after an alias: .${{{h.expr}}}")
                elif sql and not quoted and PROPERTY.match(h.expr):
                    out.append(f"{where}: a spec value in SQL text, not through sqlnames.ts: ${{{h.expr}}}")
                elif sql and not quoted and NAME.match(h.expr) and not built_by_quoting(h.expr, code):
                    out.append(f"{where}: ${{{h.expr}}} in SQL text is not built by sqlnames.ts")
        for n, line in enumerate(lines, 1):
            for m in GLUED.finditer(line):
                if not re.search(r"\b(ident|literal)\([^)]*$", line[:m.start()]):
                    out.append(f"{path.name}:{n}: a spec name glued with +: {m.group(0).strip()}")
    return out


def test_no_spec_name_reaches_sql_but_through_the_quoting_module():
    shared = functions_dir() / "_shared"
    assert (shared / QUOTING_MODULE).is_file() and len(list(shared.glob("*.ts"))) > 20
    assert problems(shared) == []


def test_the_repositorys_own_functions_too():
    shared = Path(__file__).resolve().parents[2] / "supabase" / "functions" / "_shared"
    assert problems(shared) == []


def test_every_message_allowed_to_quote_still_exists():
    """A stale allowance would let a new ad hoc quote through on a line that happens to match."""
    shared = functions_dir() / "_shared"
    present = {(p.name, line.strip()) for p in shared.glob("*.ts") for line in p.read_text("utf-8").splitlines()}
    assert NOT_SQL - present == set()


MUTANTS = [
    # (file, text in it, replacement): ad hoc quoting the guard must name
    ("push_store.ts", "t.${ident(e.primary_key)} = $1::text::uuid", 't."${e.primary_key}" = $1::text::uuid'),
    ("pull_store.ts", "const src = ident(rel.source_column)", "const src = rel.source_column"),
    ("push_store.ts", "(${ident(tenantColumn)}, ${src}, ${dst}) values", "(${tenantColumn}, ${src}, ${dst}) values"),
    ("pull_store.ts", "`${literal(e.tenant_column)}, t.", "`'${e.tenant_column}', t."),
    ("push_values.ts", "${ident(TEXT_PREFIX + f.column)}", '"${TEXT_PREFIX}" + f.column + "'),
    ("pull_store.ts", "where instance_id = $1::text::uuid ` +\n    \"and odoo_id = $2",
     "where instance_id = '${instanceId}' ` +\n    \"and odoo_id = $2"),
]


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: f"{m[0]}:{m[2][:30]}")
def test_the_guard_names_an_ad_hoc_name(tmp_path, mutant):
    name, old, new = mutant
    shared = tmp_path / "_shared"
    shutil.copytree(functions_dir() / "_shared", shared)
    text = (shared / name).read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    (shared / name).write_text(text.replace(old, new, 1), encoding="utf-8")
    found = problems(shared)
    assert found and all(f.startswith(f"{name}:") for f in found), found


# -- ident() itself ---------------------------------------------------------------------------------------
TRICKY = ["plain", 'a"b', '""', "Ünï", "select", "x y", "Mixed", "1st", "emoji😀", "back\\slash", "it's", "$1",
          "a.b", "new\nline", "é" * 20, "x" * 63]


def run_deno(script: str, tmp_path: Path) -> str:
    (tmp_path / "check.ts").write_text(script, encoding="utf-8")
    r = subprocess.run([deno(), "run", "--no-prompt", str(tmp_path / "check.ts")], env=deno_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr + r.stdout
    return r.stdout


@pytest.mark.deno
def test_ident_quotes_as_the_generator_does(tmp_path):
    """ident() is quote_ident always quoted: the same text wherever quote_ident quotes, and the quoted
    form of the same name where quote_ident leaves it bare. A NUL is refused, as quote_ident refuses it."""
    module = (functions_dir() / "_shared" / QUOTING_MODULE).as_uri()
    out = json.loads(run_deno(
        f'import {{ ident, qualified, literal }} from "{module}"\n'
        f"const names: string[] = {json.dumps(TRICKY)}\n"
        "let nul = 'accepted'\n"
        "try { ident('a\\u0000b') } catch (e) { nul = (e as Error).message }\n"
        "let nulLiteral = 'accepted'\n"
        "try { literal('a\\u0000b') } catch (e) { nulLiteral = (e as Error).message }\n"
        "console.log(JSON.stringify({ idents: names.map(ident), nul, nulLiteral,\n"
        "  qualified: qualified({ schema: 'my\"schema', table: 'Tab le' }), literal: literal(\"it's\") }))\n",
        tmp_path))
    for name, got in zip(TRICKY, out["idents"]):
        want = quote_ident(name)
        assert got == (want if want.startswith('"') else f'"{want}"'), name
    assert out["idents"][1] == '"a""b"' and out["idents"][2] == '""""""'
    assert out["nul"] == "a PostgreSQL identifier cannot hold a NUL character"
    assert out["nulLiteral"] == "PostgreSQL text cannot hold a NUL character"
    assert out["qualified"] == '"my""schema"."Tab le"' and out["literal"] == "'it''s'"


@pytest.mark.deno
@pytest.mark.db
def test_postgresql_reads_back_exactly_the_names_ident_wrote(tmp_path, supabase_db):
    """The SQL the functions build, run on a real server: a table and columns named with ident() hold
    exactly the names given (case, spaces, quotes, keywords), and a row goes in and comes back by them."""
    module = (functions_dir() / "_shared" / QUOTING_MODULE).as_uri()
    columns = ["Ünï", 'a"b', "select", "x y", "Mixed"]
    out = json.loads(run_deno(
        f'import {{ ident, idents, qualified, literal }} from "{module}"\n'
        f"const cols: string[] = {json.dumps(columns)}\n"
        "const t = { schema: 'Odd \"schema\"', table: 'select' }\n"
        "console.log(JSON.stringify([\n"
        "  `create schema ${ident(t.schema)}`,\n"
        "  `create table ${qualified(t)} (${cols.map((c) => ident(c) + ' text').join(', ')})`,\n"
        "  `insert into ${qualified(t)} (${idents(cols)}) values (${cols.map((_, i) => '$' + (i + 1)).join(', ')})`,\n"
        "  `select jsonb_build_object(${cols.map((c) => literal(c) + ', t.' + ident(c)).join(', ')}) as row "
        "from ${qualified(t)} t where t.${ident(cols[0])} = $1`,\n"
        "]))\n", tmp_path))
    import psycopg
    with psycopg.connect(supabase_db, autocommit=True) as conn:
        conn.execute(out[0])
        conn.execute(out[1])
        inserted = conn.pgconn.exec_params(out[2].encode(), [f"v{i}".encode() for i in range(len(columns))])  # $n as in the functions
        assert inserted.error_message == b"", inserted.error_message
        names = [r[0] for r in conn.execute(
            "select a.attname from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n "
            "on n.oid = c.relnamespace where n.nspname = %s and c.relname = %s and a.attnum > 0 order by a.attnum",
            ['Odd "schema"', "select"])]
        result = conn.pgconn.exec_params(out[3].encode(), [b"v0"])
        assert result.error_message == b"" and result.ntuples == 1, result.error_message
        row = json.loads(result.get_value(0, 0))
    assert names == columns
    assert row == {c: f"v{i}" for i, c in enumerate(columns)}
