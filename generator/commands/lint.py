"""lint: the pending migration's unsafe steps, and squawk's advice on the newest migration."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generator import pipeline
from generator.migrate import folder, lint as linting


@dataclass
class Linted:
    report: list[str] | None  # specgen's findings on the pending steps; None without a snapshot
    refused: bool  # a step is unsafe and not acknowledged
    squawk: str | None  # squawk's output, when squawk is installed and there is a newer migration
    pending: int = 0  # steps the next migration would hold
    unsafe: int = 0  # of them, unsafe (acknowledged or not)


def lint(project_dir: Path, environ: dict[str, str] | None = None) -> Linted:
    """`environ`: the environment squawk runs with (the CLI passes its own)."""
    from generator.migrate.plan import plan_migration
    ir, out = pipeline.compile_project(project_dir)
    state = folder.read_folder(out)
    report, refused, steps = None, False, []
    if state.snapshot is not None:
        steps = plan_migration(state.snapshot, ir, state.snapshot_objects)
        found = linting.lint_steps(steps, ir)
        report, refused = found.lines(), bool(found.refused)
    squawk = linting.run_squawk(out, state.files[-1:] if state.files else [], environ or {})
    return Linted(report, refused, squawk.output if squawk is not None else None, len(steps),
                  sum(1 for s in steps if s.unsafe))
