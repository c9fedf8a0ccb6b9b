"""OpenAPI, pydantic models, DBML and docs, each judged by the tool its users feed it to."""
from __future__ import annotations

import copy
import importlib
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from tests.needs import NODE_PACKAGES, unavailable
from openapi_spec_validator import validate as validate_openapi
from pydantic import ValidationError
from tests.samples import breakages, insert_sample, row_sample

from generator.api_compat import api_gate, breaking_changes, major_bumped
from generator.emit import openapi
from generator.emit import pydantic as pydantic_emitter
from generator.pipeline import compile_ir, render_all

GOLDEN = Path(__file__).parent / "golden"
CASES = ["repo", "all_types", "minimal_global", "tenancy_odoo", "awkward_names", "portable_checks"]
STAMP = "20260101000000"


def _root(case: str, repo_root: Path) -> Path:
    return repo_root if case == "repo" else GOLDEN / case


@pytest.fixture(scope="module")
def repo_ir(repo_root):
    return compile_ir(repo_root)


@pytest.mark.parametrize("case", CASES)
def test_openapi_document_is_valid_openapi_3_1(case, repo_root):
    """openapi-spec-validator accepts the document as OpenAPI 3.1."""
    files = render_all(compile_ir(_root(case, repo_root)), STAMP)
    doc = json.loads(files[openapi.OPENAPI_PATH])
    validate_openapi(doc)
    assert doc["openapi"] == "3.1.0"


def test_openapi_describes_postgrest_conventions(repo_ir):
    """Tables appear with the operations the matrix grants, PostgREST's parameters and headers, and auth."""
    doc = openapi.render_document(repo_ir)
    assert doc["info"]["version"] == repo_ir.project.version
    tasks = doc["paths"]["/tasks"]
    assert set(tasks) == {"get", "post", "patch", "delete"}
    assert set(doc["paths"]["/partners"]) == {"get"}  # an Odoo mirror is read-only
    assert "/outbox" not in doc["paths"]  # service-role-only tables are not part of the public API
    names = {p.get("name") or p["$ref"].rsplit("/", 1)[-1] for p in tasks["get"]["parameters"]}
    assert {"Accept-Profile", "Range", "select", "order", "limit", "offset", "status", "title"} <= names
    assert {p.get("name") for p in tasks["post"]["parameters"]} >= {"Content-Profile"}
    assert doc["components"]["securitySchemes"]["bearer"]["bearerFormat"] == "JWT"
    row = doc["components"]["schemas"]["app.tasks.Row"]
    assert row["properties"]["title"] == {"type": "string", "maxLength": 200, "minLength": 1}
    assert row["properties"]["priority"]["minimum"] == 1 and row["properties"]["priority"]["maximum"] == 5
    assert row["properties"]["due_on"] == {"type": ["string", "null"], "format": "date"}
    insert = doc["components"]["schemas"]["app.tasks.Insert"]
    assert insert["required"] == ["org_id", "project_id", "title"] and insert["additionalProperties"] is False
    assert "429" in doc["info"]["description"] and "major version" in doc["info"]["description"]


def test_breaking_api_changes_are_named(repo_ir):
    """A removed operation and field, a narrowed type, a removed enum value and a new required input are named."""
    old = openapi.render_document(repo_ir)
    new = copy.deepcopy(old)
    del new["paths"]["/comments"]["delete"]
    del new["components"]["schemas"]["app.tasks.Row"]["properties"]["due_on"]
    new["components"]["schemas"]["app.tasks.Insert"]["properties"]["title"]["maxLength"] = 100
    new["components"]["schemas"]["app.task_status"]["enum"].remove("blocked")
    new["components"]["schemas"]["app.tasks.Insert"]["required"].append("due_on")
    changes = breaking_changes(old, new)
    for expected in ("operation DELETE /comments removed", "app.tasks.Row: field 'due_on' removed",
                     "app.tasks.Insert: field 'title' maxLength narrowed from 200 to 100",
                     "enum app.task_status: values removed: blocked", "app.tasks.Insert: field 'due_on' is now required"):
        assert expected in changes
    assert breaking_changes(old, old) == []
    widened = copy.deepcopy(old)
    widened["components"]["schemas"]["app.tasks.Insert"]["properties"]["title"]["maxLength"] = 400
    assert breaking_changes(old, widened) == []


def test_version_rules_for_breaking_changes():
    """Breaking changes need a new major version (a new minor before 1.0)."""
    assert major_bumped("1.4.2", "2.0.0") and not major_bumped("1.4.2", "1.5.0")
    assert major_bumped("0.3.1", "0.4.0") and not major_bumped("0.3.1", "0.3.2")
    old = {"info": {"version": "1.0.0"}, "paths": {"/a": {"get": {}}}}
    lines, allowed = api_gate(old, {"info": {"version": "1.1.0"}, "paths": {}})
    assert not allowed and "path /a removed" in lines[1]
    assert api_gate(old, {"info": {"version": "2.0.0"}, "paths": {}})[1]


def _import_models(case: str, repo_root: Path, tmp_path: Path):
    ir = compile_ir(_root(case, repo_root))
    files = render_all(ir, STAMP)
    pkg = pydantic_emitter.package_name(ir)
    for path, text in files.items():
        if path.startswith("python/"):
            target = tmp_path / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    sys.path.insert(0, str(tmp_path / "python"))
    try:
        for name in [m for m in sys.modules if m.split(".")[0] == pkg]:
            del sys.modules[name]
        return ir, importlib.import_module(f"{pkg}.models"), files
    finally:
        sys.path.remove(str(tmp_path / "python"))


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))


@pytest.mark.parametrize("case", CASES)
def test_pydantic_models_import_validate_and_round_trip(case, repo_root, tmp_path):
    """Every table's models import; valid rows round-trip through JSON; each broken field is refused by name."""
    ir, models, _ = _import_models(case, repo_root, tmp_path)
    assert set(models.MODELS) == {(t.schema, t.name) for t in ir.tables}
    for t in ir.tables:
        kinds = models.MODELS[(t.schema, t.name)]
        row = row_sample(ir, t)
        parsed = kinds["Row"].model_validate(row)
        again = json.loads(parsed.model_dump_json())
        assert _normalise(again) == _normalise(row), t.name
        insert = kinds["Insert"].model_validate(insert_sample(ir, t))
        assert set(insert.model_dump(exclude_unset=True)) == set(insert_sample(ir, t))
        assert kinds["Update"].model_validate({}).model_dump(exclude_unset=True) == {}
        with pytest.raises(ValidationError):
            kinds["Update"].model_validate({"no_such_column": 1})
        for b in breakages(ir, t):
            with pytest.raises(ValidationError) as err:
                kinds["Row"].model_validate({**row, b.column: b.value})
            assert b.column in {str(e["loc"][0]) for e in err.value.errors()}, f"{t.name}.{b.column}: {b.why}"


def _normalise(row: dict) -> dict:
    out = {}
    for k, v in row.items():
        if isinstance(v, str) and v.endswith("+00:00"):
            v = v.replace("+00:00", "Z")
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            v = Decimal(str(v))
        if isinstance(v, str):
            try:
                v = Decimal(v)
            except ArithmeticError:
                pass
        out[k] = v
    return out


def test_datamodel_code_generator_agrees_with_our_models(repo_root, tmp_path, repo_ir):
    """datamodel-code-generator, fed the same JSON Schema, accepts and refuses the same samples as our models."""
    dcg = pytest.importorskip("datamodel_code_generator")
    ir, ours, files = _import_models("repo", repo_root, tmp_path)
    schema = json.loads(files[f"python/{pydantic_emitter.package_name(ir)}/schema.json"])
    # Dotted names make datamodel-code-generator write a package per schema; flat names keep one module.
    flat = json.dumps({"$schema": schema["$schema"], "$defs": {k.replace(".", "_"): v for k, v in schema["$defs"].items()}})
    for name in schema["$defs"]:
        flat = flat.replace(f'"#/$defs/{name}"', f'"#/$defs/{name.replace(".", "_")}"')
    code = dcg.generate(flat, input_file_type=dcg.InputFileType.JsonSchema,
                        output_model_type=dcg.DataModelType.PydanticV2BaseModel, disable_timestamp=True)
    assert isinstance(code, str)
    namespace: dict = {}
    exec(compile(code, "dcg_models", "exec"), namespace)  # noqa: S102 - our own schema, generated here
    checked = 0
    for t in ir.tables:
        theirs = _find_class(namespace, f"{t.schema}.{t.name}.Row")
        theirs.model_rebuild(_types_namespace=namespace)
        row = row_sample(ir, t)
        # Two known differences, both where ours is right: ours refuses a number for a date or timestamp
        # (PostgREST sends ISO strings; plain pydantic reads a Unix time), and null in a NOT NULL jsonb
        # column (datamodel-code-generator ignores the schema's `not: {type: null}`).
        comparable = [b for b in breakages(ir, t)
                      if not (t.column(b.column).type.base in ("date", "timestamptz") and isinstance(b.value, int))
                      and t.column(b.column).type.base != "jsonb"]
        cases = [("valid row", row), *((f"{b.column}: {b.why}", {**row, b.column: b.value}) for b in comparable)]
        for label, value in cases:
            mine = _accepts(ours.MODELS[(t.schema, t.name)]["Row"], value)
            assert mine == _accepts(theirs, value), f"{t.name}, {label}: ours accepts={mine}"
            checked += 1
    assert checked > 50


def _find_class(namespace: dict, title: str):
    wanted = "".join(p[:1].upper() + p[1:] for part in title.split(".") for p in part.split("_"))
    found = namespace.get(wanted)
    assert found is not None, f"datamodel-code-generator made no class {wanted}"
    return found


def _accepts(model, value) -> bool:
    try:
        model.model_validate(value)
        return True
    except ValidationError:
        return False


@pytest.mark.parametrize("case", CASES)
def test_dbml_parses_with_dbdiagrams_parser(case, repo_root, tmp_path):
    """@dbml/core (dbdiagram's parser) reads every table, enum, reference and group."""
    node_dir = Path(__file__).parents[1] / "node"
    if not (node_dir / "node_modules" / "@dbml" / "core").exists():
        unavailable(NODE_PACKAGES)
    ir = compile_ir(_root(case, repo_root))
    path = tmp_path / "schema.dbml"
    path.write_text(render_all(ir, STAMP)["dbml/schema.dbml"])
    result = subprocess.run(["node", str(node_dir / "checks" / "dbml-parse.mjs"), str(path)], capture_output=True,
                            text=True, timeout=120, cwd=node_dir)
    assert result.returncode == 0, result.stderr
    summary = {s["name"]: s for s in json.loads(result.stdout)[0]["schemas"]}
    for schema in ir.schemas:
        assert summary[schema]["tables"] == sorted(t.name for t in ir.tables if t.schema == schema)
        assert summary[schema]["enums"] == sorted(e.name for e in ir.enums if e.schema == schema)
    refs = sum(s["refs"] for s in summary.values())
    assert refs == sum(len(t.foreign_keys) for t in ir.tables)
    groups = sorted(g for s in summary.values() for g in s["tableGroups"])
    assert groups == sorted(f"{s}_schema" for s in ir.schemas)


def test_docs_cover_every_table_and_the_matrix(repo_root, repo_ir):
    """The entity reference names every table and column; the matrix gives every exposed table a row."""
    files = render_all(repo_ir, STAMP)
    for t in repo_ir.tables:
        page = files[f"docs/entities/{t.schema}.md"]
        assert f"## {t.name}" in page
        assert all(f"`{c.name}`" in page for c in t.columns)
    matrix = files["docs/permissions.md"]
    assert "| `app.tasks` | member | org rows | org rows | org rows | own rows |" in matrix
    assert "| `app.tasks` | viewer | org rows | — | — | — |" in matrix
    assert "| `odoo.outbox` | all API roles | — | — | — | — |" in matrix
    erd = files["docs/erd.md"]
    assert "erDiagram" in erd and "app_orgs ||--o{ app_tasks : \"org_id\"" in erd


def test_runtime_endpoints_are_described_in_a_valid_openapi_document(repo_root, repo_ir):
    """The webhook receiver and health endpoints have their own OpenAPI 3.1 document, and its event schema
    is exactly the one the runtime validates against."""
    from generator.emit import runtime_api
    doc = json.loads(render_all(repo_ir, STAMP)[runtime_api.RUNTIME_PATH])
    validate_openapi(doc)
    assert set(doc["paths"]) == {"/webhooks/odoo/{instance_id}/{token}", "/webhooks/odoo/{instance_id}", "/health"}
    assert {"202", "400", "401", "413", "415", "503"} <= set(doc["paths"]["/webhooks/odoo/{instance_id}"]["post"]
                                                             ["responses"])
    from bridge.sync import events  # the schema the runtime validates against
    published = json.loads(render_all(repo_ir, STAMP)[runtime_api.EVENT_SCHEMA_PATH])
    assert published == events.schema() and published["required"] == ["_model", "_id"]
