"""spec/ -> checked data -> IR -> {path: text}. The one road every command takes."""
from __future__ import annotations

import gc
import multiprocessing
import os
import hashlib
import json
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from generator import __version__
from generator.emit import (adapters, contracts, dbml, docs, observability, openapi, pgtap, pydantic, runtime_api,
                            sql)
from generator.errors import SpecError
from generator.ir import IR
from generator.ir.build import build_ir
from generator.migrate import folder
from generator.load.loader import SourceFile, load_yaml
from generator.load.schema_check import check_structure
from generator.load.derived_names import check_derived_names
from generator.load.semantics import check_semantics

ENTITIES_PATH = "spec/schema/entities.yaml"
ROLES_PATH = "spec/auth/roles.yaml"
GENERATED = "generated"
MANIFEST = "manifest.json"


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
    if not errors:
        errors = check_derived_names(spec.entities, spec.roles)
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


def render_all(ir: IR, stamp: str) -> dict[str, str]:
    """The whole tree of a new project: every generated file, a baseline migration named by `stamp`
    with its snapshot and lock, and the manifest."""
    with paused_gc():
        files = render_outputs(ir, digests=False)  # the baseline's lock records them itself
        files.update(baseline_files(ir, stamp))
        files[MANIFEST] = render_manifest(ir, files)
        return dict(sorted(files.items()))


def baseline_files(ir: IR, stamp: str) -> dict[str, str]:
    schema_sql = sql.render_baseline(ir)
    return folder.migration_files(ir, [(f"{stamp}_baseline.sql", schema_sql)], [], schema_sql)


def project_files(root: Path, ir: IR, state: folder.Folder | None = None) -> tuple[dict[str, str], folder.Folder]:
    """What generated/ must hold for this project: outputs from the IR, and the migrations on disk.

    Without migrations yet, the baseline is made now (named by the current UTC time). With migrations,
    only the lock is taken from disk: `migrate` owns the migrations and snapshots, and
    `check_migrations` judges them against the lock (writer calls pass `folder.managed` as owned
    elsewhere, so they are never reported as extra or deleted). `state` is the folder as already
    read, if the caller has read it.
    """
    out = root / GENERATED
    if state is None:
        state = folder.read_folder(out)
    if state.empty:
        return render_all(ir, folder.next_stamp(out)), state
    with paused_gc():
        files = render_outputs(ir)
        state.current_schema_sha = files.pop(SCHEMA_DIGEST, None)
        state.current_spec_sha = files.pop(SPEC_DIGEST, None)
        if (out / folder.LOCK).is_file():
            files[folder.LOCK] = (out / folder.LOCK).read_text(encoding="utf-8")
        files[MANIFEST] = render_manifest(ir, files)
        return dict(sorted(files.items())), state


def check_migrations(state: folder.Folder, ir: IR) -> list[str]:
    """Problems with the committed migrations: edited, missing, out of order, or not capturing the spec."""
    problems = list(state.problems)
    if state.snapshot_file is None:
        return problems
    current_spec = state.current_spec_sha or folder.sha256(folder.fingerprint(ir))
    same_spec = state.fingerprint_sha == current_spec
    current_sql = state.current_schema_sha or folder.sha256(sql.render_baseline(ir))
    same_sql = state.schema_sha == current_sql
    if same_spec and same_sql:
        return problems
    from generator.migrate.plan import plan_migration
    steps = plan_migration(state.snapshot, ir, state.snapshot_sql)
    if steps or folder.fingerprint(state.snapshot) != folder.fingerprint(ir):
        listed = "".join(f"\n    - {s.change}" for s in steps[:12]) + (
            f"\n    - ... and {len(steps) - 12} more" if len(steps) > 12 else "")
        problems.append("the spec changed but no migration captures the change; run `specgen migrate <name>`"
                        + (f"; it would:{listed}" if steps else ""))
    return problems


# Emitters in two groups of similar cost; on large specs the first runs in a forked child. The child's
# output crosses a pipe, so the emitters with the biggest output (OpenAPI, JSON Schema) stay here.
SCHEMA_DIGEST = "\0schema_sql_sha256"  # not files: the migrations check's digests, computed alongside
SPEC_DIGEST = "\0spec_fingerprint_sha256"


def _schema_digest(ir: IR) -> dict[str, str]:
    return {SCHEMA_DIGEST: folder.sha256(sql.render_baseline(ir)),
            SPEC_DIGEST: folder.sha256(folder.fingerprint(ir))}


EMITTER_GROUPS = ((contracts.render, dbml.render, docs.render, pgtap.render, observability.render, adapters.render,
                   _schema_digest),
                  (openapi.render, pydantic.render, runtime_api.render))
PARALLEL_FROM_TABLES = 150
_FORKED_IR: IR | None = None


def _run_group(ir: IR, group, digests: bool = True) -> dict[str, str]:
    files: dict[str, str] = {}
    for emitter in group:
        if digests or emitter is not _schema_digest:
            files.update(emitter(ir))
    return files


def _run_forked_group(index: int, digests: bool = True) -> dict[str, str]:
    assert _FORKED_IR is not None
    return _run_group(_FORKED_IR, EMITTER_GROUPS[index], digests)


def render_outputs(ir: IR, digests: bool = True) -> dict[str, str]:
    """Every file generated from the IR alone (everything but migrations and the manifest), and with
    `digests` the migrations check's two digests under SCHEMA_DIGEST and SPEC_DIGEST."""
    files: dict[str, str] = {}
    if _parallel(ir):
        # Emitters are pure, so a forked child sees the same IR and returns the same text: the merged
        # result is byte-identical to the serial one (a test checks it).
        global _FORKED_IR
        _FORKED_IR = ir
        try:
            with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as pool:
                child = pool.submit(_run_forked_group, 0, digests)
                files.update(_run_group(ir, EMITTER_GROUPS[1], digests))
                files.update(child.result())
        finally:
            _FORKED_IR = None
    else:
        for group in EMITTER_GROUPS:
            files.update(_run_group(ir, group, digests))
    return files


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
        # Migrations and snapshots are covered by the lock's checksums, which the manifest hashes.
        "outputs": {path: hashlib.sha256(text.encode("utf-8")).hexdigest() for path, text in sorted(files.items())
                    if not folder.managed(path) or path == folder.LOCK},
    }
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"
