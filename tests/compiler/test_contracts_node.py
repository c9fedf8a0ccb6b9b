"""The contracts package judged by its real consumers: tsc --strict, zod at runtime, supabase-js, and
Supabase's own type generator (postgres-meta) run against the migrated database.

Node packages come from tests/node/package-lock.json (`npm ci` in tests/node, which .ci/run does).
Without Node or those packages the tests skip and say why; with CI=true that is a failure.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.needs import NODE, NODE_PACKAGES, unavailable
from tests.samples import breakages, insert_sample, row_sample

from generator.database.cluster import apply_sql
from generator.ir import IR
from generator.pipeline import compile_ir, render_all

pytestmark = pytest.mark.node

NODE_DIR = Path(__file__).parents[1] / "node"
WORK = NODE_DIR / ".work"
GOLDEN = Path(__file__).parent / "golden"
STAMP = "20260101000000"
CASES = ["repo", "all_types", "minimal_global", "tenancy_odoo", "awkward_names", "portable_checks",
         "identity_nulls_signed_in", "composite_keys", "odoo_relations", "digit_enum_labels"]


@pytest.fixture(scope="session")
def node() -> str:
    node_bin = shutil.which("node")
    problem = None
    if not node_bin:
        problem = NODE
    elif not (NODE_DIR / "node_modules" / ".bin" / "tsc").exists():
        problem = NODE_PACKAGES
    if problem:
        unavailable(problem)
    return node_bin


def case_root(case: str, repo_root: Path) -> Path:
    return repo_root if case == "repo" else GOLDEN / case


def run(args: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, **kw)


def tsc(*args: str) -> list[str]:
    return [str(NODE_DIR / "node_modules" / ".bin" / "tsc"), *args]


def stage(case: str, repo_root: Path) -> tuple[Path, IR, dict[str, str]]:
    """Write the case's contracts package and the checks under tests/node/.work/<case>/."""
    ir = compile_ir(case_root(case, repo_root))
    files = render_all(ir, STAMP)
    work = WORK / case
    shutil.rmtree(work, ignore_errors=True)
    for path, text in files.items():
        if path.startswith("contracts/"):
            target = work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    shutil.copytree(NODE_DIR / "checks", work / "checks")
    if case != "repo":
        (work / "checks" / "usage.ts").unlink()
    return work, ir, files


@pytest.mark.parametrize("case", CASES)
def test_contracts_compile_strict_and_zod_infers_the_database_types(case, node, repo_root):
    """tsc --strict accepts database.ts, zod.ts, the z.infer equality proof and (repo) supabase-js usage."""
    work, _, _ = stage(case, repo_root)
    result = run(tsc("-p", str(work / "checks" / "tsconfig.json")), cwd=work)
    assert result.returncode == 0, result.stdout + result.stderr


def test_equality_proof_fails_when_a_zod_schema_drifts(node, repo_root):
    """The z.infer check is not vacuous: a nullable column made non-null in zod is reported by name."""
    work, _, _ = stage("repo", repo_root)
    zod_ts = work / "contracts" / "src" / "zod.ts"
    text = zod_ts.read_text()
    needle = "        due_on: z.iso.date().nullable(),\n"
    assert needle in text
    zod_ts.write_text(text.replace(needle, "        due_on: z.iso.date(),\n", 1))
    result = run(tsc("-p", str(work / "checks" / "tsconfig.json")), cwd=work)
    assert result.returncode != 0
    assert "app.tasks.Row" in result.stdout


def _build_package(work: Path) -> Path:
    result = run(tsc("-p", str(work / "contracts" / "tsconfig.json")), cwd=work)
    assert result.returncode == 0, result.stdout + result.stderr
    return work / "contracts" / "dist"


@pytest.mark.parametrize("case", CASES)
def test_zod_accepts_valid_samples_and_rejects_each_broken_field_by_name(case, node, repo_root):
    """Valid rows and minimal inserts pass; each broken value fails with an issue naming its column."""
    work, ir, _ = stage(case, repo_root)
    dist = _build_package(work)
    samples, expectations = [], []
    for t in ir.tables:
        if t.schema not in ir.exposed_schemas:
            continue
        row, insert = row_sample(ir, t), insert_sample(ir, t)
        samples += [dict(schema=t.schema, table=t.name, kind="Row", value=row),
                    dict(schema=t.schema, table=t.name, kind="Insert", value=insert),
                    dict(schema=t.schema, table=t.name, kind="Update", value={})]
        expectations += [(True, None, "valid row"), (True, None, "minimal insert"), (True, None, "empty update")]
        for b in breakages(ir, t):
            samples.append(dict(schema=t.schema, table=t.name, kind="Row", value={**row, b.column: b.value}))
            expectations.append((False, b.column, f"{t.name}.{b.column}: {b.why}"))
        for c in t.columns:
            if not c.nullable and not c.has_default and not c.identity:
                samples.append(dict(schema=t.schema, table=t.name, kind="Insert",
                                    value={k: v for k, v in insert.items() if k != c.name}))
                expectations.append((False, c.name, f"{t.name}.{c.name}: required on insert"))
            if c.identity:
                samples.append(dict(schema=t.schema, table=t.name, kind="Insert", value={**insert, c.name: 1}))
                expectations.append((False, c.name, f"{t.name}.{c.name}: identity is generated always"))
        samples.append(dict(schema=t.schema, table=t.name, kind="Update", value={"no_such_column": 1}))
        expectations.append((False, None, f"{t.name}: unknown key in an update"))
    sample_file = work / "samples.json"
    sample_file.write_text(json.dumps(samples))
    result = run([node, str(work / "checks" / "runtime.mjs"), str(dist / "zod.js"), str(sample_file)], cwd=work)
    assert result.returncode == 0, result.stderr
    outcomes = json.loads(result.stdout)
    assert len(outcomes) == len(samples) > 10
    wrong = []
    for (ok, column, why), outcome in zip(expectations, outcomes):
        if outcome["ok"] != ok or (column and column not in outcome["paths"]):
            wrong.append(f"{why}: got {outcome}")
    assert wrong == []


def test_package_resolves_through_its_exports_map(node, repo_root):
    """A consumer importing the package by name gets the zod schemas and Constants from dist/."""
    work, ir, files = stage("repo", repo_root)
    _build_package(work)
    package = json.loads(files["contracts/package.json"])
    consumer = work / "consumer"
    link = consumer / "node_modules" / package["name"]
    link.parent.mkdir(parents=True)
    link.symlink_to(work / "contracts", target_is_directory=True)
    script = (f"import {{ schemas, Constants }} from '{package['name']}';"
              f"import * as zod from '{package['name']}/zod';"
              "console.log(JSON.stringify([Object.keys(schemas).sort(), Constants.app.Enums.task_status,"
              " typeof zod.schemas.app.tasks.Row.parse]))")
    result = run([node, "--input-type=module", "-e", script], cwd=consumer)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [sorted(ir.exposed_schemas), ["todo", "in_progress", "blocked", "done"],
                                         "function"]
    assert package["peerDependencies"] == {"@supabase/supabase-js": "^2.0.0", "zod": "^4.0.0"}
    assert package["type"] == "module"
    assert package["version"] == ir.project.version


@pytest.mark.db
@pytest.mark.parametrize("case", CASES)
def test_database_ts_equals_supabase_gen_types_for_the_migrated_database(case, node, repo_root, pg_cluster,
                                                                        supabase_db):
    """Supabase's own generator (postgres-meta), run on the migrated database, prints the same Database."""
    _, ir, files = stage(case, repo_root)
    apply_sql(supabase_db, files[f"supabase/migrations/{STAMP}_baseline.sql"])
    import psycopg
    params = psycopg.conninfo.conninfo_to_dict(supabase_db)
    env = {**os.environ,
           "PG_META_DB_URL": f"postgresql://{params['user']}@localhost/{params['dbname']}?host={params['host']}",
           "PG_META_GENERATE_TYPES": "typescript",
           "PG_META_GENERATE_TYPES_INCLUDED_SCHEMAS": ",".join(ir.exposed_schemas),
           "PG_META_GENERATE_TYPES_DETECT_ONE_TO_ONE_RELATIONSHIPS": "true"}
    server = NODE_DIR / "node_modules" / "@supabase" / "postgres-meta" / "dist" / "server" / "server.js"
    result = run([node, str(server)], cwd=NODE_DIR, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    theirs, ours = _blocks(result.stdout), _blocks(files["contracts/src/database.ts"])
    assert set(theirs) == set(ours)
    for name in sorted(theirs):
        assert ours[name] == theirs[name], name


def _blocks(text: str) -> dict[str, str]:
    """Split a generated database.ts into comparable parts: each table, each schema's enums, Constants."""
    lines = text.splitlines()
    blocks: dict[str, str] = {}
    start = lines.index("export type Database = {")
    end = lines.index("}", start)
    schema = table = None
    current: list[str] = []
    for line in lines[start + 1:end]:
        if line.startswith("  ") and not line.startswith("   ") and line.endswith(": {"):
            schema = line.strip()[:-3]
        elif line.startswith("      ") and not line.startswith("       ") and line.endswith(": {") \
                and table is None and current == [] and schema:
            table = line.strip()[:-3]
            current = [line]
            continue
        elif line.startswith("    Enums: {") or line.startswith("    Enums:"):
            table = "__enums__"
            current = [line]
            continue
        if table is not None:
            current.append(line)
            closing = "      }" if table != "__enums__" else "    }"
            if line == closing:
                blocks[f"{schema}.{table}"] = "\n".join(current)
                table, current = None, []
    constants = text[text.index("export const Constants"):].rstrip("\n")
    blocks["Constants"] = constants
    return blocks
