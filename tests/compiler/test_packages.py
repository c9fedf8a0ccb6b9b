"""The generated packages as another repository installs them (issue 17, part 3).

npm: generated/contracts ships dist/ written by specgen (no build step on install). Its .d.ts files
declare exactly the types tsc gives src/*.ts, and the packed tarball installs into a scratch project
with supabase-js, zod and TypeScript at the versions tests/node pins, where a typed query and a zod
parse compile with `tsc --strict` and the parse runs on Node.

pip: generated/python builds into a wheel that installs into a fresh virtual environment with
pydantic alone, validates a row and refuses a broken one; the sync adapters stay an optional module.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from tests.needs import NODE_PACKAGES, unavailable
from tests.samples import breakages, row_sample

from generator.emit import contracts
from generator.emit.pydantic import package_name
from generator.emit.typescript import exposed_tables
from generator.ir import IR
from generator.pipeline import compile_ir, render_all

NODE_DIR = Path(__file__).parents[1] / "node"
GOLDEN = Path(__file__).parent / "golden"
STAMP = "20260101000000"
CASES = ["repo", "all_types", "minimal_global", "tenancy_odoo", "awkward_names", "portable_checks",
         "identity_nulls_signed_in", "composite_keys", "odoo_relations", "digit_enum_labels"]
STRICT = {"target": "es2022", "module": "nodenext", "moduleResolution": "nodenext", "strict": True,
          "noEmit": True, "verbatimModuleSyntax": True}


def run(args: list, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def stage(root: Path, prefix: str, dest: Path) -> tuple[IR, Path]:
    """Render the spec at `root` and write the files under `prefix` (contracts/ or python/) to dest."""
    ir = compile_ir(root)
    for path, text in render_all(ir, STAMP).items():
        if path.startswith(prefix):
            target = dest / path[len(prefix):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    return ir, dest


def case_root(case: str, repo_root: Path) -> Path:
    return repo_root if case == "repo" else GOLDEN / case


def pinned() -> dict[str, str]:
    return json.loads((NODE_DIR / "package.json").read_text())["devDependencies"]


def test_contracts_dev_pins_are_the_versions_the_tests_use():
    """The package's pinned TypeScript, zod and supabase-js are those tests/node/package.json pins."""
    assert contracts.DEV_PINS == {name: pinned()[name] for name in contracts.DEV_PINS}
    assert pinned()["zod"].split(".")[0] == contracts.ZOD_RANGE.lstrip("^").split(".")[0]


@pytest.fixture(scope="module")
def tsc() -> Path:
    if not shutil.which("node"):
        unavailable("Node.js is not installed")
    path = NODE_DIR / "node_modules" / ".bin" / "tsc"
    if not path.exists():
        unavailable(NODE_PACKAGES)
    return path


@pytest.mark.node
@pytest.mark.parametrize("case", CASES)
def test_dist_declarations_equal_the_types_of_src(case, tsc, repo_root, tmp_path):
    """Every export of dist/*.d.ts is identical (not just assignable) to what tsc infers from src/*.ts,
    table by table and kind by kind; the .d.ts files themselves pass tsc with skipLibCheck off."""
    ir, work = stage(case_root(case, repo_root), "contracts/", tmp_path / "contracts")
    (work / "node_modules").symlink_to(NODE_DIR / "node_modules", target_is_directory=True)
    lines = ['import * as S from "./src/index.js"', 'import * as D from "./dist/index.js"',
             "type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends (<T>() => T extends Y ? 1 : 2) ? true : false",
             "function same<X, Y>(_: Equal<X, Y>): void {}",
             *(f"same<{a}, {b}>(true)" for a, b in [
                 ("typeof S.json", "typeof D.json"), ("typeof S.jsonNotNull", "typeof D.jsonNotNull"),
                 ("typeof S.enums", "typeof D.enums"), ("typeof S.schemas", "typeof D.schemas"),
                 ("typeof S.Constants", "typeof D.Constants"), ("S.Database", "D.Database"), ("S.Json", "D.Json")])]
    for schema in ir.exposed_schemas:
        for t in exposed_tables(ir, schema):
            for kind in ("Row", "Insert", "Update"):
                lines.append(f"same<typeof S.schemas.{schema}.{t.name}.{kind}, typeof D.schemas.{schema}.{t.name}.{kind}>(true)")
            lines.append(f'same<S.Tables<{{ schema: "{schema}" }}, "{t.name}">, D.Tables<{{ schema: "{schema}" }}, "{t.name}">>(true)')
    (work / "equal.ts").write_text("\n".join(lines) + "\n")
    (work / "tsconfig.check.json").write_text(json.dumps(
        {"compilerOptions": {**STRICT, "skipLibCheck": False}, "files": ["equal.ts"]}))
    result = run([tsc, "-p", "tsconfig.check.json"], cwd=work)
    assert result.returncode == 0, result.stdout + result.stderr


QUERY_TS = """\
import { createClient } from "@supabase/supabase-js"
import { schemas, type Database, type Tables } from "PACKAGE"
import type { TablesInsert } from "PACKAGE/database"

const supabase = createClient<Database, "app">("http://localhost:54321", "anon-key", { db: { schema: "app" } })

export async function load(): Promise<Tables<"tasks">[]> {
  const { data, error } = await supabase.from("tasks").select()
  if (error) throw error
  const rows: Tables<"tasks">[] = data
  return rows
}

export function check(value: unknown): Tables<"tasks"> {
  const row: Tables<"tasks"> = schemas.app.tasks.Row.parse(value)
  return row
}

export function insert(value: unknown): TablesInsert<"tasks"> {
  return schemas.app.tasks.Insert.parse(value)
}

export async function refused(): Promise<void> {
  // @ts-expect-error: not a table of the Database type
  await supabase.from("no_such_table").select()
  const { data } = await supabase.from("projects").select()
  // @ts-expect-error: a projects row is not a tasks row
  const rows: Tables<"tasks">[] = data ?? []
  void rows
}
"""

PARSE_MJS = """\
import { readFileSync } from "node:fs"
import { schemas } from "PACKAGE"
const { good, bad } = JSON.parse(readFileSync(process.argv[2], "utf8"))
const ok = schemas.app.tasks.Row.safeParse(good)
const ko = schemas.app.tasks.Row.safeParse(bad)
console.log(JSON.stringify({ good: ok.success, bad: ko.success, paths: ko.success ? [] : ko.error.issues.map((i) => i.path.join(".")) }))
"""


@pytest.mark.node
def test_packed_contracts_install_into_a_scratch_project_and_compile_strict(tsc, repo_root, tmp_path):
    """npm pack, npm install the tarball with supabase-js, zod and TypeScript, then tsc --strict a typed
    query and a zod parse, and run the parse on Node against the shipped dist/."""
    ir, package_dir = stage(repo_root, "contracts/", tmp_path / "contracts")
    package = json.loads((package_dir / "package.json").read_text())
    assert "prepare" not in package.get("scripts", {}) and "build" not in package.get("scripts", {})
    packed = run(["npm", "pack", "--pack-destination", tmp_path, "--silent"], cwd=package_dir)
    assert packed.returncode == 0, packed.stderr
    tarball = tmp_path / contracts.tarball_name(ir)
    assert tarball.exists(), packed.stdout
    project = tmp_path / "scratch"
    project.mkdir()
    (project / "package.json").write_text(json.dumps({"name": "scratch", "private": True, "type": "module"}))
    deps = [f"{name}@{pinned()[name]}" for name in ("@supabase/supabase-js", "zod", "typescript")]
    install = run(["npm", "install", "--prefer-offline", "--no-audit", "--no-fund", tarball, *deps], cwd=project)
    if install.returncode != 0 and "ENOTFOUND" in install.stderr + install.stdout:
        unavailable(f"the npm registry is not reachable: {install.stderr[-300:]}")
    assert install.returncode == 0, install.stdout + install.stderr
    installed = project / "node_modules" / package["name"]
    assert not installed.is_symlink() and (installed / "dist" / "zod.js").exists()
    (project / "query.ts").write_text(QUERY_TS.replace("PACKAGE", package["name"]))
    # skipLibCheck: supabase-js's own declarations need @types/node and a DOM lib to check
    (project / "tsconfig.json").write_text(json.dumps(
        {"compilerOptions": {**STRICT, "skipLibCheck": True}, "files": ["query.ts"]}))
    compiled = run([project / "node_modules" / ".bin" / "tsc", "-p", "tsconfig.json"], cwd=project)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    tasks = ir.table("app", "tasks")
    good = row_sample(ir, tasks)
    broken = breakages(ir, tasks)[0]
    (project / "rows.json").write_text(json.dumps({"good": good, "bad": {**good, broken.column: broken.value}}))
    (project / "parse.mjs").write_text(PARSE_MJS.replace("PACKAGE", package["name"]))
    parsed = run(["node", "parse.mjs", "rows.json"], cwd=project)
    assert parsed.returncode == 0, parsed.stderr
    outcome = json.loads(parsed.stdout)
    assert outcome["good"] is True and outcome["bad"] is False and broken.column in outcome["paths"], outcome


VENV_CHECK = """\
import importlib.util, json, sys
from pydantic import ValidationError
from PKG.models import MODELS
assert importlib.util.find_spec("generator") is None and importlib.util.find_spec("bridge") is None
samples = json.loads(open(sys.argv[1]).read())
Row = MODELS[("app", "tasks")]["Row"]
Row.model_validate(samples["good"])
try:
    Row.model_validate(samples["bad"])
except ValidationError as error:
    print(json.dumps([".".join(map(str, e["loc"])) for e in error.errors()]))
else:
    sys.exit("the broken row validated")
try:
    import PKG.adapters
except ModuleNotFoundError as error:
    print(json.dumps(error.name))
"""


def test_python_wheel_installs_into_a_fresh_venv_and_validates_rows(repo_root, tmp_path):
    """pip wheel builds generated/python; a plain venv with the wheel and pydantic validates a row and
    refuses a broken one, without specgen; the adapters module asks for specgen's runtime (bridge)."""
    ir, source = stage(repo_root, "python/", tmp_path / "python")
    pkg = package_name(ir)
    wheels = tmp_path / "wheels"
    # setuptools < 70 builds wheels only with the `wheel` package; without it pip fetches both (isolation)
    offline = ["--no-build-isolation"] if importlib.util.find_spec("wheel") else []
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", *offline,
                 "-w", wheels, source], cwd=tmp_path)
    if built.returncode != 0 and "NewConnectionError" in built.stdout + built.stderr:
        unavailable(f"PyPI is not reachable for setuptools: {built.stderr[-300:]}")
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("*.whl")
    assert wheel.name.startswith(f"{pkg}-{ir.project.version}-")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"{pkg}/{name}" for name in ("__init__.py", "models.py", "adapters.py", "py.typed", "schema.json")} <= names
    metadata = next(zipfile.ZipFile(wheel).read(n).decode() for n in names if n.endswith("/METADATA"))
    assert "Requires-Dist: pydantic>=2.5" in metadata and "Provides-Extra: sync" in metadata
    venv = tmp_path / "venv"
    made = run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}  # nothing of this repo
    install = run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel, "pydantic>=2.5"],
                  cwd=tmp_path, env=clean)
    if install.returncode != 0 and ("NewConnectionError" in install.stderr or "No matching distribution" in install.stderr):
        unavailable(f"PyPI is not reachable for pydantic: {install.stderr[-300:]}")
    assert install.returncode == 0, install.stdout + install.stderr
    tasks = ir.table("app", "tasks")
    good = row_sample(ir, tasks)
    broken = breakages(ir, tasks)[0]
    (tmp_path / "rows.json").write_text(json.dumps({"good": good, "bad": {**good, broken.column: broken.value}}))
    (tmp_path / "check.py").write_text(VENV_CHECK.replace("PKG", pkg))
    checked = run([python, "-I", tmp_path / "check.py", tmp_path / "rows.json"], cwd=venv, env=clean)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    locations, missing = (json.loads(line) for line in checked.stdout.splitlines())
    assert broken.column in locations and missing == "bridge"
