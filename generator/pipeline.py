"""spec/ -> checked data -> IR -> {path: text}. The one road every command takes."""
from __future__ import annotations

import datetime as _dt
import gc
import multiprocessing
import os
import hashlib
import json
import re
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from generator import __version__
from generator.emit import adapters, contracts, dbml, docs, openapi, pgtap, pydantic, sql
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


@contextmanager
def paused_gc():
    """The compiler allocates millions of short-lived objects and makes no cycles worth collecting;
    pausing the cyclic collector for one build saves about 15% of its time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def compile_ir(root: Path) -> IR:
    with paused_gc():
        return _compile_ir(root)


def _compile_ir(root: Path) -> IR:
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
    with paused_gc():
        return _render_all(ir, stamp)


# Emitters split in two groups of similar cost; on large specs the second runs in a forked child.
EMITTER_GROUPS = ((openapi.render, pydantic.render, adapters.render), (contracts.render, dbml.render, docs.render, pgtap.render))
PARALLEL_FROM_TABLES = 150
_FORKED_IR: IR | None = None


def _run_group(ir: IR, group) -> dict[str, str]:
    files: dict[str, str] = {}
    for emitter in group:
        files.update(emitter(ir))
    return files


def _run_forked_group(index: int) -> dict[str, str]:
    assert _FORKED_IR is not None
    return _run_group(_FORKED_IR, EMITTER_GROUPS[index])


def _render_all(ir: IR, stamp: str) -> dict[str, str]:
    files = {f"{MIGRATIONS}/{stamp}_baseline.sql": sql.render_baseline(ir)}
    if _parallel(ir):
        # Emitters are pure, so a forked child sees the same IR and returns the same text: the merged
        # result is byte-identical to the serial one (a test checks it).
        global _FORKED_IR
        _FORKED_IR = ir
        try:
            with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as pool:
                child = pool.submit(_run_forked_group, 0)
                files.update(_run_group(ir, EMITTER_GROUPS[1]))
                files.update(child.result())
        finally:
            _FORKED_IR = None
    else:
        for group in EMITTER_GROUPS:
            files.update(_run_group(ir, group))
    files[MANIFEST] = render_manifest(ir, files)
    return dict(sorted(files.items()))


def _parallel(ir: IR) -> bool:
    jobs = os.environ.get("SPECGEN_JOBS")
    if jobs is not None:
        return jobs.strip() not in ("", "0", "1")
    return (len(ir.tables) >= PARALLEL_FROM_TABLES and (os.cpu_count() or 1) > 1
            and "fork" in multiprocessing.get_all_start_methods())


def render_manifest(ir: IR, files: dict[str, str]) -> str:
    manifest = {
        "generator": f"specgen {__version__}",
        "inputs": dict(ir.inputs),
        "outputs": {path: hashlib.sha256(text.encode("utf-8")).hexdigest() for path, text in sorted(files.items())},
    }
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"
