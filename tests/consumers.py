"""Every file a build writes, judged by the tool its users feed it to; for golden and property tests.

    problems = consumer_problems(tree, ir, database_url)   # [] when every consumer accepts the tree
    assert_consumers_accept(files, ir, database_url)       # render_all's dict, written and judged

`tree` is a directory holding what `render_all(ir, stamp)` returns (see `write_tree`). The checks:
- the migrations apply, in name order, to `database_url` (a fresh database with the Supabase stand-in);
- the pydantic package imports in a fresh Python and validates a full row and a minimal insert per table;
- tsc builds the contracts package (strict), then one Node process loads the built zod schemas and
  parses a full row and a minimal insert per exposed table, and parses the DBML with @dbml/core;
- openapi-spec-validator accepts the OpenAPI document (as tests/compiler/test_contracts_python.py does).
Samples come from tests/samples.py (one valid value per column). Node runs from tests/node, whose
node_modules the contracts package resolves zod from, so trees are written under tests/node/.work/.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from openapi_spec_validator import validate as validate_openapi
from tests.samples import insert_sample, row_sample

from generator.database.cluster import apply_sql
from generator.emit import openapi
from generator.emit.pydantic import package_name
from generator.ir import IR

NODE_DIR = Path(__file__).parent / "node"
WORK = NODE_DIR / ".work" / "consumers"

NODE_SCRIPT = r"""
import { readFileSync } from "node:fs"
import { pathToFileURL } from "node:url"
import { Parser } from "@dbml/core"
const [zodModule, samplesPath, dbmlPath] = process.argv.slice(1)
const problems = []
try {
  const { schemas } = await import(pathToFileURL(zodModule).href)
  for (const { schema, table, kind, value } of JSON.parse(readFileSync(samplesPath, "utf8"))) {
    const result = schemas[schema][table][kind].safeParse(value)
    if (!result.success) problems.push(`zod ${schema}.${table}.${kind}: ${JSON.stringify(result.error.issues)}`)
  }
} catch (error) { problems.push(`zod.js does not load: ${error}`) }
try { new Parser().parse(readFileSync(dbmlPath, "utf8"), "dbmlv2") } catch (error) {
  const diags = error.diags ?? [error]
  problems.push(...diags.map((d) => `dbml ${d.location?.start?.line ?? "?"}:${d.location?.start?.column ?? "?"}: ${d.message ?? d}`))
}
process.stdout.write(JSON.stringify(problems))
"""

PYTHON_SCRIPT = r"""
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
problems = []
try:
    models = importlib.import_module(sys.argv[2] + ".models").MODELS
    for s in json.load(open(sys.argv[3])):
        try:
            models[(s["schema"], s["table"])][s["kind"]].model_validate(s["value"])
        except Exception as exc:
            problems.append(f"pydantic {s['schema']}.{s['table']}.{s['kind']}: {exc}")
except Exception as exc:
    problems.append(f"models.py does not import: {type(exc).__name__}: {exc}")
print(json.dumps(problems))
"""


def write_tree(files: dict[str, str]) -> Path:
    """Write a rendered tree to a fresh directory under tests/node/.work/consumers/."""
    WORK.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(dir=WORK))
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def samples(ir: IR, exposed_only: bool) -> list[dict]:
    out = []
    for t in ir.tables:
        if exposed_only and t.schema not in ir.exposed_schemas:
            continue
        out.append(dict(schema=t.schema, table=t.name, kind="Row", value=row_sample(ir, t)))
        out.append(dict(schema=t.schema, table=t.name, kind="Insert", value=insert_sample(ir, t)))
    return out


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)


def _json_out(what: str, result: subprocess.CompletedProcess) -> list[str]:
    if result.returncode != 0:
        return [f"{what} exited {result.returncode}: {result.stderr[-3000:]}"]
    return json.loads(result.stdout)


def consumer_problems(tree: Path, ir: IR, database_url: str | None) -> list[str]:
    """What each consumer refused in `tree`, one line each; [] when all accept it."""
    problems: list[str] = []
    if database_url is not None:
        for path in sorted((tree / "supabase" / "migrations").glob("*.sql")):
            try:
                apply_sql(database_url, path.read_text(encoding="utf-8"))
            except Exception as exc:  # psycopg's errors carry PostgreSQL's message
                problems.append(f"sql {path.name}: {type(exc).__name__}: {exc}")
                break
    try:
        validate_openapi(json.loads((tree / openapi.OPENAPI_PATH).read_text(encoding="utf-8")))
    except Exception as exc:
        problems.append(f"openapi: {type(exc).__name__}: {str(exc)[:2000]}")

    python_samples = tree / "python-samples.json"
    python_samples.write_text(json.dumps(samples(ir, exposed_only=False)))
    problems += _json_out("python", _run([sys.executable, "-c", PYTHON_SCRIPT, str(tree / "python"),
                                          package_name(ir), str(python_samples)], cwd=tree))

    tsc = NODE_DIR / "node_modules" / ".bin" / "tsc"
    built = _run([str(tsc), "-p", str(tree / "contracts" / "tsconfig.json")], cwd=tree)
    if built.returncode != 0:
        problems.append(f"tsc: {built.stdout[-3000:]}{built.stderr[-1000:]}")
        return problems
    node_samples = tree / "node-samples.json"
    node_samples.write_text(json.dumps(samples(ir, exposed_only=True)))
    problems += _json_out("node", _run(["node", "--input-type=module", "-e", NODE_SCRIPT,
                                        str(tree / "contracts" / "dist" / "zod.js"), str(node_samples),
                                        str(tree / "dbml" / "schema.dbml")], cwd=NODE_DIR))
    return problems


def assert_consumers_accept(files: dict[str, str], ir: IR, database_url: str | None) -> None:
    """Write `files` (render_all's output for `ir`) and fail with every consumer's refusal."""
    tree = write_tree(files)
    problems = consumer_problems(tree, ir, database_url)
    assert problems == [], f"(tree kept at {tree})\n" + "\n".join(problems)
    shutil.rmtree(tree)
