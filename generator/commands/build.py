"""build: regenerate generated/ from the spec."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from generator import pipeline, writer
from generator.migrate import folder
from generator.api_compat import api_gate
from generator.commands.common import counted, managed, owned_files, read_json
from generator.emit.openapi import OPENAPI_PATH
from generator.layout import Tree
from generator.text import jsondoc


@dataclass
class Built:
    total: int  # files generated/ holds for the spec, migrations and snapshots aside (commands.common.counted)
    migrations: int  # migrations in generated/ after the build
    written: list[str]  # every path written, migrations and snapshots included
    removed: list[str]
    api_changes: list[str] = field(default_factory=list)  # breaking changes of the Data API
    stale: list[str] = field(default_factory=list)  # files of generated/ the spec no longer produces
    migration_problems: list[str] = field(default_factory=list)
    files_written: int = 0  # of `written`, those counted in `total`
    hand_recorded: tuple[str, ...] = ()  # hand-written migrations recorded in the lock now
    baseline_written: bool = False  # a new project: its baseline migration was made now
    tree: "Tree | None" = None  # where the paths above are on disk (Tree.shown names them)


def build(project_dir: Path, prune: bool = False, jobs: int | None = None) -> Built:
    """Write what the spec produces into generated/; unchanged files are not rewritten. Files the spec no
    longer produces are reported, and deleted only with `prune`."""
    ir, out = pipeline.compile_project(project_dir)
    project = pipeline.project_files(out, ir, jobs=jobs)
    files, state = project.files, project.state
    old_api = read_json(out / OPENAPI_PATH, unless_equal_to=files[OPENAPI_PATH])
    owned = owned_files(out)
    stale = writer.stale(out, files, owned, managed)
    hand_lock = None if state.empty else folder.recorded_hand(state)
    if hand_lock is not None:  # hand-written migrations are recorded now; from here on they are append-only
        files[folder.LOCK] = hand_lock
    if hand_lock is not None or (stale and not prune):  # stale files stay recorded as specgen's
        files[pipeline.MANIFEST] = pipeline.render_manifest(
            ir, {k: v for k, v in files.items() if k != pipeline.MANIFEST}, () if prune else stale)
    written, removed = writer.write(out, files, prune=prune, owned_elsewhere=managed, owned=owned)
    total, new_migrations = counted(files)
    result = Built(total, new_migrations or len(state.files), written, removed,
                   files_written=counted(written)[0], baseline_written=new_migrations > 0,
                   hand_recorded=state.pending_hand if hand_lock is not None else (), tree=out)
    if old_api is not None:
        result.api_changes = api_gate(old_api, jsondoc.load(files[OPENAPI_PATH]))[0]
    if not prune:
        result.stale = stale
    if not state.empty:
        result.migration_problems = pipeline.check_migrations(state, ir, project.digests)
    return result
