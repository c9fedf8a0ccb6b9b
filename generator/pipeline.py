"""spec/ -> checked data -> IR -> {path: text}. The one road every command takes."""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from generator import __version__
from generator.emit import contracts, sql
from generator.errors import SpecError
from generator.ir import IR
from generator.ir.build import build_ir
from generator.spec.loader import SourceFile, load_yaml
from generator.spec.schema_check import check_structure
from generator.spec.semantics import check_semantics

ENTITIES_PATH = "spec/schema/entities.yaml"
ROLES_PATH = "spec/auth/roles.yaml"
GENERATED = "generated"
MIGRATIONS = "supabase/migrations"  # under generated/
MANIFEST = "manifest.json"
_BASELINE = re.compile(r"^(\d{14})_baseline\.sql$")


@dataclass(frozen=True)
class Spec:
    entities: SourceFile
    roles: SourceFile


def load_spec(root: Path) -> Spec:
    """Load both spec files; YAML errors of both are reported together."""
    files, errors = [], []
    for rel in (ENTITIES_PATH, ROLES_PATH):
        try:
            files.append(load_yaml(root / rel, rel))
        except SpecError as exc:
            errors.extend(exc.diagnostics)
    if errors:
        raise SpecError(errors)
    return Spec(*files)


def validate(spec: Spec) -> None:
    """Structure first (JSON Schema); semantic rules only run on structurally valid files."""
    errors = check_structure(spec.entities, "entities") + check_structure(spec.roles, "roles")
    if not errors:
        errors = check_semantics(spec.entities, spec.roles)
    if errors:
        raise SpecError(errors)


def compile_ir(root: Path) -> IR:
    spec = load_spec(root)
    validate(spec)
    inputs = tuple((s.path, hashlib.sha256(s.text.encode("utf-8")).hexdigest()) for s in (spec.entities, spec.roles))
    return build_ir(spec.entities.data, spec.roles.data, inputs)


def baseline_stamp(root: Path, now: _dt.datetime | None = None) -> str:
    """The baseline's timestamp: the committed one if it exists, else now (UTC).

    Time appears only in migration names, never in generated bodies.
    """
    folder = root / GENERATED / MIGRATIONS
    if folder.is_dir():
        stamps = sorted(m.group(1) for p in folder.iterdir() if (m := _BASELINE.match(p.name)))
        if stamps:
            return stamps[0]
    return (now or _dt.datetime.now(_dt.timezone.utc)).strftime("%Y%m%d%H%M%S")


def render_all(ir: IR, stamp: str) -> dict[str, str]:
    """Every generated file, keyed by its path under generated/, manifest included."""
    files = {f"{MIGRATIONS}/{stamp}_baseline.sql": sql.render_baseline(ir)}
    for emitter in (contracts.render,):
        files.update(emitter(ir))
    files[MANIFEST] = render_manifest(ir, files)
    return dict(sorted(files.items()))


def render_manifest(ir: IR, files: dict[str, str]) -> str:
    manifest = {
        "generator": f"specgen {__version__}",
        "inputs": dict(ir.inputs),
        "outputs": {path: hashlib.sha256(text.encode("utf-8")).hexdigest() for path, text in sorted(files.items())},
    }
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"
