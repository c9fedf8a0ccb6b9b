"""Safety lint of planned migration steps, and squawk where installed (the file's text: render.py)."""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from generator.ir import IR
from generator.migrate import folder
from generator.migrate.steps import Step


@dataclass
class Report:
    refused: list[Step] = field(default_factory=list)
    accepted: list[tuple[Step, str]] = field(default_factory=list)  # (step, reason given)

    def lines(self) -> list[str]:
        out = [f"unsafe step accepted: {s.change} ({s.unsafe}); reason given: {reason}"
               for s, reason in self.accepted]
        for s in self.refused:
            out.append(f"error: unsafe step refused: {s.change}\n    why: {s.unsafe}\n"
                       f"    to go ahead, acknowledge it in spec/schema/entities.yaml:\n"
                       f"      acknowledged_changes:\n        - change: {s.change}\n"
                       f"          reason: <why this is safe here>")
        return out


def lint_steps(steps: list[Step], ir: IR) -> Report:
    acknowledged = dict(ir.acknowledged)
    report = Report()
    for s in steps:
        if not s.unsafe:
            continue
        if s.change in acknowledged:
            report.accepted.append((s, acknowledged[s.change]))
        else:
            report.refused.append(s)
    return report


@dataclass
class SquawkResult:
    output: str


# squawk rules that judge style rather than safety, or that our own planner already decides:
# column types come from the spec; each migration file runs in one transaction (as the Supabase CLI
# applies it); index builds and new constraints are refused or acknowledged by `specgen lint` itself.
SQUAWK_EXCLUDED = ("prefer-text-field", "prefer-bigint-over-int", "prefer-bigint-over-smallint",
                   "prefer-robust-stmts", "require-lock-timeout", "require-statement-timeout",
                   "require-concurrent-index-creation", "require-concurrent-index-deletion",
                   "prefer-identity", "prefer-timestamptz", "ban-drop-column", "renaming-column",
                   "renaming-table", "changing-column-type", "adding-not-nullable-field",
                   "disallowed-unique-constraint", "adding-field-with-default")


def run_squawk(out: Path, files: list[str], environ: dict[str, str]) -> SquawkResult | None:
    """squawk's own checks on the newest migration (not the baseline, which only creates), when squawk is
    on the PATH of `environ` (`pip install squawk-cli`), run with that environment."""
    squawk = shutil.which("squawk", path=environ.get("PATH"))
    files = [f for f in files if not f.endswith("_baseline.sql")]
    if not squawk or not files:
        return None
    paths = [str(out / folder.MIGRATIONS / f) for f in files]
    result = subprocess.run([squawk, "--assume-in-transaction", "--exclude", ",".join(SQUAWK_EXCLUDED), *paths],
                            capture_output=True, text=True, timeout=120, env={"NO_COLOR": "1", **environ})
    return SquawkResult((result.stdout + result.stderr).strip() or "squawk: no findings")
