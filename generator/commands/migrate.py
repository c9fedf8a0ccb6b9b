"""migrate: write the next migration, what turns the last recorded schema into the spec's."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from generator import pipeline, writer
from generator.commands.common import managed
from generator.errors import CheckFailed, UsageError
from generator.layout import Tree
from generator.migrate import folder, hand, lint, render

NAME = re.compile(r"^[a-z0-9_]+$")


@dataclass
class Migrated:
    migrations: list[tuple[str, int]] = field(default_factory=list)  # (file name, number of steps)
    written: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)  # the lint report of steps it let through
    tree: Tree | None = None  # where the paths above are on disk

    @property
    def nothing_to_do(self) -> bool:
        return not self.migrations


HAND_HEADER = """\
-- Written by hand: SQL the spec cannot say (storage buckets and their policies, the realtime publication,
-- pg_cron jobs, extensions, a data fix). specgen keeps it in order and records it in the lock at the next
-- `specgen build`; from then on it is append-only like every migration. `specgen verify` accepts what it
-- adds; what it changes of the spec's own objects is reported.
"""


def empty(project_dir: Path, name: str, template: str | None = None) -> str:
    """Write a hand-written migration NAME after the newest one, empty or from `template` (generator/migrate/
    hand.py); its path relative to the project."""
    _check_name(name)
    ir, out = pipeline.compile_project(project_dir)
    state = folder.read_folder(out)
    if state.empty:
        raise UsageError("there is no baseline migration yet: run `specgen build` first")
    path = f"{folder.MIGRATIONS}/{folder.next_stamp(out)}_{name}.sql"
    text = hand.render_template(template, ir) if template else HAND_HEADER
    writer.write(out, {path: text}, prune=False)
    return out.shown(path)


def _check_name(name: str) -> None:
    if not NAME.match(name) or len(name) > 80:
        raise UsageError(f"migration name {name!r}: use lower_snake_case (a-z, 0-9, _), at most 80 characters")


def migrate(project_dir: Path, name: str, jobs: int | None = None) -> Migrated:
    """Plan from the newest snapshot to the spec, refuse unsafe steps the spec does not acknowledge
    (CheckFailed, with the report), write the migration files, the snapshot and the lock, and rebuild."""
    _check_name(name)
    ir, out = pipeline.compile_project(project_dir)
    state = folder.read_folder(out)
    if state.empty:
        raise UsageError("there is no baseline migration yet: run `specgen build` first")
    if state.problems or state.snapshot_file is None:
        raise CheckFailed("\n".join(f"migrations: {p}" for p in state.problems))
    from generator.migrate.plan import ENUM_VALUES_SUFFIX, VALIDATE_SUFFIX, plan_migration, split_files
    steps = plan_migration(state.snapshot, ir, state.snapshot_objects)
    if not steps and folder.fingerprint(state.snapshot) == folder.fingerprint(ir):
        return Migrated()
    report = lint.lint_steps(steps, ir)
    if report.refused:
        raise CheckFailed("\n".join(report.lines()))
    # Each file runs in a transaction of its own (see generator/migrate/plan.py split_files): new enum
    # labels first when a step uses them, the main steps, then the validation of `not valid` constraints.
    stamp = folder.next_stamp(out)
    headers = {ENUM_VALUES_SUFFIX: render.ENUM_VALUES_HEADER, "": render.HEADER, VALIDATE_SUFFIX: render.VALIDATE_HEADER}
    parts = split_files(steps)
    migrations = []
    for suffix, part in parts:
        migrations.append((f"{stamp}_{name}{suffix}.sql", render.render_migration(part, ir, headers[suffix])))
        stamp = folder.stamp_after(stamp)
    files = pipeline.project_files(out, ir, state, jobs=jobs).files
    # hand-written migrations not recorded yet go into the lock first, in order, before the new ones
    previous, hand = folder.with_pending_hand(state)
    files.update(folder.migration_files(ir, migrations, previous, hand=hand))
    files[pipeline.MANIFEST] = pipeline.render_manifest(ir, {k: v for k, v in files.items() if k != pipeline.MANIFEST})
    written, _ = writer.write(out, files, prune=False, owned_elsewhere=managed)
    return Migrated([(file_name, len(part)) for (file_name, _), (_, part) in zip(migrations, parts)], written,
                    report.lines(), out)
