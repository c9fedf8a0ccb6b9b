"""spec/ -> checked data -> IR -> {path: text}. The one road every command takes."""
from __future__ import annotations

import gc
import multiprocessing
import os
import hashlib
import json
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from generator import __version__, supabase_config
from generator.emit import functions, registry, sql
from generator.errors import SpecError, UsageError
from generator.ir import IR
from generator.ir.build import build_ir
from generator.migrate import folder
from generator.load.loader import SourceFile, load_yaml
from generator.load.schema_check import check_structure
from generator.load.derived_names import check_derived_names
from generator.load.semantics import check_semantics
from generator.layout import ENTITIES_PATH, GENERATED, MANIFEST, ROLES_PATH, SUPABASE, Tree  # noqa: F401 (pipeline.X)


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
    return compile_project(root)[0]


def compile_project(root: Path) -> tuple[IR, Tree]:
    """The IR, and where the project's generated files live (the spec's `project.supabase_dir`)."""
    with paused_gc():
        spec = load_spec(root)
        validate(spec)
        inputs = tuple((s.path, hashlib.sha256(s.text.encode("utf-8")).hexdigest())
                       for s in (spec.entities, spec.roles))
        return build_ir(spec.entities.data, spec.roles.data, inputs), project_tree(root, spec)


def project_tree(root: Path, spec: Spec) -> Tree:
    """Refuses a project whose migrations are still in generated/supabase/ (earlier specgen wrote
    them there): making a new baseline beside them would fork the history."""
    tree = Tree(root, spec.entities.data["project"].get("supabase_dir", SUPABASE))
    old = tree.legacy_folder()
    if old is not None:
        raise UsageError(
            f"{old.relative_to(root).as_posix()}/ holds this project's migrations, but specgen now writes the "
            f"Supabase folder to {tree.supabase_dir}/ (the spec's project.supabase_dir, default `supabase`).\n"
            f"  Move it, keeping everything in it: git mv {old.relative_to(root).as_posix()} {tree.supabase_dir}\n"
            f"  (or keep it where it is: `supabase_dir: {old.relative_to(root).as_posix()}` under project: in "
            f"{ENTITIES_PATH})")
    return tree


def render_all(ir: IR, stamp: str, jobs: int | None = None) -> dict[str, str]:
    """The whole tree of a new project: every generated file, a baseline migration named by `stamp`
    with its snapshot and lock, and the manifest."""
    with paused_gc():
        rendered = render_outputs(ir, jobs)
        files = dict(rendered.files)
        files.update(baseline_files(ir, stamp, rendered.schema_sql))
        files[MANIFEST] = render_manifest(ir, files)
        return dict(sorted(files.items()))


def baseline_files(ir: IR, stamp: str, schema_sql: str | None = None) -> dict[str, str]:
    if schema_sql is None:
        schema_sql = sql.render_baseline(ir)
    return folder.migration_files(ir, [(f"{stamp}_baseline.sql", schema_sql)], [], schema_sql)


@dataclass(frozen=True)
class Project:
    """What generated/ must hold (`files`), the migrations folder as read (`state`), and the digests of
    the schema SQL and of the spec the spec gives now (what `check_migrations` compares with the lock)."""
    files: dict[str, str]
    state: folder.Folder
    digests: "Digests | None"  # None for a new project (nothing to check yet)


def project_files(out: Tree, ir: IR, state: folder.Folder | None = None, jobs: int | None = None) -> Project:
    """What generated/ must hold for this project: outputs from the IR, and the migrations on disk.

    Without migrations yet, the baseline is made now (named by the current UTC time). With migrations,
    only the lock is taken from disk: `migrate` owns the migrations and snapshots, and
    `check_migrations` judges them against the lock (writer calls pass `folder.managed` as owned
    elsewhere, so they are never reported as extra or deleted). `state` is the folder as already
    read, if the caller has read it.
    """
    if state is None:
        state = folder.read_folder(out)
    with paused_gc():
        rendered = render_outputs(ir, jobs, digests=not state.empty)
        files = dict(rendered.files)
        if state.empty:
            files.update(baseline_files(ir, folder.next_stamp(out), rendered.schema_sql))
        elif (out / folder.LOCK).is_file():
            files[folder.LOCK] = (out / folder.LOCK).read_text(encoding="utf-8")
        config = out / supabase_config.PATH
        if config.is_file():  # the Supabase project's own file: specgen keeps two keys of it in step
            files[supabase_config.PATH] = supabase_config.sync(config.read_text(encoding="utf-8"),
                                                               ir.exposed_schemas, ir.schemas,
                                                               functions.without_jwt(files))
        files[MANIFEST] = render_manifest(ir, files)
        return Project(dict(sorted(files.items())), state, rendered.digests)


@dataclass(frozen=True)
class Digests:
    """sha256 of the schema SQL and of the spec's fingerprint: what the lock records for the newest
    migration. Hashing an 11 MB fingerprint costs ~40 ms on a large spec, so a forked child computes
    them beside its targets."""
    schema_sha: str
    spec_sha: str

    @classmethod
    def of(cls, ir: IR, schema_sql: str) -> "Digests":
        return cls(folder.sha256(schema_sql), folder.sha256(folder.fingerprint(ir)))


def check_migrations(state: folder.Folder, ir: IR, digests: Digests | None = None) -> list[str]:
    """Problems with the committed migrations: edited, missing, out of order, or not capturing the spec."""
    problems = list(state.problems)
    if state.snapshot_file is None:
        return problems
    digests = digests or Digests.of(ir, sql.render_baseline(ir))
    same_spec = state.fingerprint_sha == digests.spec_sha
    same_sql = state.schema_sha == digests.schema_sha
    if same_spec and same_sql:
        return problems
    from generator.migrate.plan import plan_migration
    steps = plan_migration(state.snapshot, ir, state.snapshot_objects)
    if steps or folder.fingerprint(state.snapshot) != folder.fingerprint(ir):
        listed = "".join(f"\n    - {s.change}" for s in steps[:12]) + (
            f"\n    - ... and {len(steps) - 12} more" if len(steps) > 12 else "")
        problems.append("the spec changed but no migration captures the change; run `specgen migrate <name>`"
                        + (f"; it would:{listed}" if steps else ""))
    return problems


@dataclass(frozen=True)
class Rendered:
    files: dict[str, str]  # every file generated from the IR alone (not migrations, not the manifest)
    schema_sql: str  # the schema target's text
    digests: Digests | None = None  # when asked for


PARALLEL_FROM_TABLES = 150
_FORKED: tuple[IR, tuple[registry.Target, ...], bool] | None = None


def split_for_fork(targets=registry.TARGETS) -> tuple[tuple[registry.Target, ...], tuple[registry.Target, ...]]:
    """(child, parent): a forked child renders the targets with the smallest output (what it returns
    crosses a pipe), taking each next one while that brings the two processes' costs closer; the parent
    renders the rest meanwhile."""
    total = sum(t.cost for t in targets)
    child, spent = [], 0
    for target in sorted(targets, key=lambda t: (t.output, t.name)):
        if max(spent + target.cost, total - spent - target.cost) > max(spent, total - spent):
            break
        child.append(target)
        spent += target.cost
    return tuple(child), tuple(t for t in targets if t not in child)


def _render_targets(ir: IR, targets) -> dict[str, dict[str, str]]:
    return {t.name: t.render(ir) for t in targets}


def _render_forked() -> tuple[dict[str, dict[str, str]], Digests | None]:
    """The child's share: its targets, and the digests when asked (the schema target is among them)."""
    assert _FORKED is not None
    ir, targets, digests = _FORKED
    outputs = _render_targets(ir, targets)
    return outputs, (Digests.of(ir, _schema_text(outputs)) if digests else None)


def render_outputs(ir: IR, jobs: int | None = None, digests: bool = False) -> Rendered:
    """Every target of the registry rendered from the IR, and with `digests` the migrations check's
    `Digests`. `jobs`: 1 renders in this process, 2 or more forks one child for part of the targets,
    None decides by the spec's size and the machine."""
    if _parallel(ir, jobs):
        # Emitters are pure, so a forked child sees the same IR and returns the same text: the merged
        # result is byte-identical to the serial one (a test checks it).
        global _FORKED
        child_targets, parent_targets = split_for_fork()
        assert any(t.kind == registry.SCHEMA for t in child_targets), "the child digests the schema it renders"
        _FORKED = (ir, child_targets, digests)
        try:
            with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as pool:
                child = pool.submit(_render_forked)
                outputs = _render_targets(ir, parent_targets)
                child_outputs, found = child.result()
                outputs.update(child_outputs)
        finally:
            _FORKED = None
    else:
        outputs = _render_targets(ir, registry.TARGETS)
        found = Digests.of(ir, _schema_text(outputs)) if digests else None
    return replace(_merge(outputs), digests=found)


def _schema_text(outputs: dict[str, dict[str, str]]) -> str:
    return next(text for t in registry.TARGETS if t.kind == registry.SCHEMA and t.name in outputs
                for text in outputs[t.name].values())


def _merge(outputs: dict[str, dict[str, str]]) -> Rendered:
    files: dict[str, str] = {}
    schema_sql = None
    for target in registry.TARGETS:  # registry order, whichever process rendered it
        for path, text in outputs[target.name].items():
            assert path.startswith(target.prefixes), f"target {target.name} wrote {path} outside {target.prefixes}"
            if target.kind == registry.SCHEMA:
                schema_sql = text
                continue
            assert path not in files, f"two targets write {path}"
            files[path] = text
    assert schema_sql is not None, "no target rendered the schema SQL"
    return Rendered(files, schema_sql)


def _parallel(ir: IR, jobs: int | None) -> bool:
    if jobs is not None:
        return jobs > 1
    return (len(ir.tables) >= PARALLEL_FROM_TABLES and (os.cpu_count() or 1) > 1
            and "fork" in multiprocessing.get_all_start_methods())


def render_manifest(ir: IR, files: dict[str, str], stale=()) -> str:
    """Hashes of the inputs and of every output; `stale`: files specgen wrote that the spec no longer
    produces and that a build without --prune left in place (still specgen's, so diff reports them and a
    later --prune deletes them)."""
    manifest = {
        "generator": f"specgen {__version__}",
        "inputs": dict(ir.inputs),
        # Migrations and snapshots are covered by the lock's checksums, which the manifest hashes.
        # config.toml is the Supabase project's: specgen edits two keys of it, but never owns it
        "outputs": {path: hashlib.sha256(text.encode("utf-8")).hexdigest() for path, text in sorted(files.items())
                    if (not folder.managed(path) or path == folder.LOCK) and path != supabase_config.PATH},
    }
    if stale:
        manifest["stale"] = sorted(stale)
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"
