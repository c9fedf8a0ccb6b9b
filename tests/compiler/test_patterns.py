"""`check: {pattern}` means one thing in PostgreSQL, pydantic, zod and OpenAPI (generator/patterns.py).

`specgen check` judges patterns without any engine; this test holds the subset it accepts against the real
engines: PostgreSQL's `~` (a real server), pydantic 2's default engine (Rust `regex`), Python `re` (what
OpenAPI tooling in Python uses on the JavaScript form) and Node's `RegExp` as zod builds it. Every accepted
pattern, hand-written or drawn at random, must compile in all of them and give the same answer on every
sample string; and the constructs the subset refuses do differ (or fail) somewhere as written.
"""
from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from typing import Annotated

import psycopg
import pydantic
import pytest

from generator.patterns import for_target, problem
from tests.needs import NODE, unavailable

SAMPLES = ["", "a", "ab", "abc", "a\nb", "a\rb", "A-1", "Zz_9", "aa@b.cd", "x@y", "123-x", "12", " ", "\t",
           "[", "]", "-", "_", "{", "a{2}", "*", ".", "é", "aé", "\\", "|", "(a)", "abab", "a b", "ÀB",
           "٣", "0x1F", "Ab", "A"]

ACCEPTED = [
    "^[a-z0-9][a-z0-9-]*$", "^[^@\\s]+@[^@\\s]+$", "^[A-Z].*$", "^https?://", "^[0-9a-f]{64}$",
    "^[[:alpha:]]+$", "[[:digit:]]", "^[[:alnum:]_-]*$", "[[:upper:]][[:lower:]]", "^[[:xdigit:]]+$",
    "[[:space:]]", "[[:blank:]]", "[^[:alpha:]]", "^a.b$", ".", "^.*$", "\\d", "^\\d+$", "\\D", "[\\d]",
    "[^\\d]", "\\s", "\\S", "[\\s]", "a|b", "^(a|b)c$", "(?:ab)+", "a{2}", "a{1,}", "a{0,2}b", "\\.",
    "\\*", "\\{", "\\}", "\\[", "\\]", "\\(", "\\)", "\\|", "\\\\", "\\/", "\\^", "\\$", "\\?", "\\+",
    "[\\]]", "[\\[]", "[a\\-z]", "[-a]", "[a-]", "[\\^]", "[\\\\]", "\\n", "\\t", "[\\n\\t]", "é", "[é]",
    "^[A-Za-zÀ-ÿ]+$", "a^", "$a", "^$", "()", "a|", "(a)(b)?", "x@y", "[.]", "[*+?{}()|$]",
]

REFUSED = [
    "(ab", "ab)", "\\w", "\\W", "a+?", "a*?", "a??", "a{2}?", "a**", "(?=a)", "(?!a)", "(?<=a)b", "(?P<n>a)",
    "(?i)a", "a{2,", "a{,2}", "a{", "}", "]", "[]a]", "[a", "[[:word:]]", "[[:punct:]]", "(a)\\1", "\\b",
    "\\B", "\\A", "\\Z", "\\z", "\\x41", "\\u0041", "\\p{L}", "\\e", "\\-", "*a", "^*", "|*", "x{256}",
    "a{3,2}", "[z-a]", "[\\d-z]", "[a-c-e]", "[a&&b]", "[a--b]", "[a~~b]", "[[a]", "😀", "a\\", "[\\w]",
    "[\\D]", "[\\S]", "[\\.]", "[]",
]

# Refused constructs that, written as they are, fail or disagree in at least one engine.
DIFFER_AS_WRITTEN = ["\\w", "[[:alpha:]]", "\\d", "(?=a)", "(a)\\1", "a{,2}", "[]a]", "a{", "\\Z",
                     "[a&&b]", "\\b", "^\\x41b", "(?i)a", "^😀?$", "[^]a]", "^a.b$"]


def random_patterns(count: int, seed: int = 15) -> list[str]:
    """Strings drawn from regex building blocks; about half are in the subset."""
    rng = random.Random(seed)
    pieces = ["a", "b", "é", "-", "_", "@", ".", "^", "$", "|", "(", ")", "(?:", "[", "]", "[^", "*", "+",
              "?", "{2}", "{1,3}", "{0,}", "\\d", "\\D", "\\s", "\\S", "\\.", "\\*", "\\n", "\\\\", "\\[",
              "\\]", "[:alpha:]", "[:digit:]", "[:space:]", "a-z", "0-9", "[a-z]", "[^a]", "[[:upper:]]"]
    out = []
    while len(out) < count:
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 7)))
        if problem(text) is None:
            out.append(text)
    return out


@pytest.fixture(scope="module")
def pg(pg_cluster):
    name = pg_cluster.create_database(prefix="patterns")
    with psycopg.connect(pg_cluster.url_for(name), autocommit=True) as conn:
        yield conn
    pg_cluster.drop_database(name)


def node_bin() -> str:
    found = shutil.which("node")
    if not found:
        unavailable(NODE)
    return found


def run_pg(conn, pattern: str) -> list[bool] | str:
    try:
        return [row[0] for row in conn.execute("select s ~ %s from unnest(%s::text[]) with ordinality u(s, i) "
                                               "order by i", (pattern, SAMPLES)).fetchall()]
    except psycopg.Error as exc:
        return f"error: {exc.diag.message_primary}"


def run_pydantic(pattern: str) -> list[bool] | str:
    try:
        adapter = pydantic.TypeAdapter(Annotated[str, pydantic.Field(pattern=pattern)])
    except Exception as exc:  # noqa: BLE001 - any failure to build the validator is the finding
        return f"error: {exc}"
    out = []
    for s in SAMPLES:
        try:
            adapter.validate_python(s)
            out.append(True)
        except pydantic.ValidationError:
            out.append(False)
    return out


def run_python(pattern: str) -> list[bool] | str:
    try:
        rx = re.compile(pattern)
    except (re.error, FutureWarning) as exc:
        return f"error: {exc}"
    return [rx.search(s) is not None for s in SAMPLES]


def run_node(patterns: list[str]) -> list[list[bool] | str]:
    """What zod's `.regex(new RegExp(p))` does: `RegExp.prototype.test` on the string."""
    script = """
const [patterns, samples] = JSON.parse(require('fs').readFileSync(0, 'utf8'));
console.log(JSON.stringify(patterns.map(p => {
  try { const rx = new RegExp(p); return samples.map(s => { rx.lastIndex = 0; return rx.test(s); }); }
  catch (e) { return 'error: ' + e.message; }
})));"""
    done = subprocess.run([node_bin(), "-e", script], input=json.dumps([patterns, SAMPLES]), text=True,
                          capture_output=True, timeout=120, check=True)
    return json.loads(done.stdout)


def engines(conn, pattern: str, js: list[bool] | str) -> dict[str, list[bool] | str]:
    """Each engine on the pattern it is given: PostgreSQL as written, the others translated."""
    return {"postgresql": run_pg(conn, for_target(pattern, "pg")),
            "pydantic": run_pydantic(for_target(pattern, "rust")),
            "python re (rust form)": run_python(for_target(pattern, "rust")),
            "python re (js form, OpenAPI)": run_python(for_target(pattern, "js")),
            "node": js}


def comparable(pattern: str) -> list[int]:
    """Sample positions on which the engines must agree: \\s follows each engine's Unicode tables (PostgreSQL
    glibc's, the others Unicode's), so with \\s or \\S only ASCII samples count (docs/spec-language.md)."""
    if "\\s" in pattern or "\\S" in pattern or "[:space:]" in pattern:
        return [i for i, s in enumerate(SAMPLES) if s.isascii()]
    return list(range(len(SAMPLES)))


@pytest.mark.db
@pytest.mark.parametrize("source", ["hand-written", "random"])
def test_accepted_patterns_mean_the_same_everywhere(pg, source):
    patterns = ACCEPTED if source == "hand-written" else random_patterns(300)
    for p in patterns:
        assert problem(p) is None, (p, problem(p))
    js = run_node([for_target(p, "js") for p in patterns])
    failures = []
    for p, node_result in zip(patterns, js):
        results = engines(pg, p, node_result)
        errors = {k: v for k, v in results.items() if isinstance(v, str)}
        if errors:
            failures.append(f"{p!r}: {errors}")
            continue
        keep = comparable(p)
        answers = {k: tuple(v[i] for i in keep) for k, v in results.items()}
        if len(set(answers.values())) > 1:
            reference = answers["postgresql"]
            differ = {k: [SAMPLES[keep[i]] for i, (a, b) in enumerate(zip(v, reference)) if a != b]
                      for k, v in answers.items() if v != reference}
            failures.append(f"{p!r}: differs from PostgreSQL on {differ}")
    assert not failures, "\n".join(failures)


def test_refused_patterns_are_refused():
    accepted = [p for p in REFUSED if problem(p) is None]
    assert not accepted


@pytest.mark.db
def test_refused_constructs_differ_as_written(pg):
    """The refusals and translations are not arbitrary: as written, each of these fails in one engine or
    answers differently from PostgreSQL."""
    js = run_node(DIFFER_AS_WRITTEN)
    same = []
    for p, node_result in zip(DIFFER_AS_WRITTEN, js):
        results = {"postgresql": run_pg(pg, p), "pydantic": run_pydantic(p), "python re": run_python(p),
                   "node": node_result}
        if len({json.dumps(v) for v in results.values()}) == 1:
            same.append(p)
    assert not same, f"these agree everywhere as written, so the subset need not refuse them: {same}"
