"""diff: what generated/ and the Supabase folder would change if the spec were built now (CI's drift gate). Nothing is written."""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from generator import pipeline, writer
from generator.api_compat import api_gate
from generator.commands.common import counted, managed, owned_files, read_json
from generator.emit.openapi import OPENAPI_PATH
from generator.errors import UsageError
from generator.layout import Tree
from generator.text import jsondoc


@dataclass
class Compared:
    total: int  # files compared, migrations and snapshots aside (commands.common.counted)
    migrations: int  # migrations checked against the lock
    drift: writer.Drift
    migration_problems: list[str]
    api_changes: list[str]  # what changed in the Data API, breaking or not
    api_allowed: bool  # False: a breaking change without a major version bump
    tree: Tree | None = None  # where the compared paths are on disk

    @property
    def clean(self) -> bool:
        return self.drift.clean and self.api_allowed and not self.migration_problems


def diff(project_dir: Path, api_base: str | None = None, jobs: int | None = None) -> Compared:
    ir, out = pipeline.compile_project(project_dir)
    project = pipeline.project_files(out, ir, jobs=jobs)
    files, state = project.files, project.state
    drift = writer.compare(out, files, owned_elsewhere=managed, owned=owned_files(out))
    migration_problems = [] if state.empty else pipeline.check_migrations(state, ir, project.digests)
    new_api = files[OPENAPI_PATH]
    base = api_base_document(project_dir, api_base) if api_base else read_json(out / OPENAPI_PATH,
                                                                                 unless_equal_to=new_api)
    lines, allowed = api_gate(base, jsondoc.load(new_api)) if base is not None else ([], True)
    return Compared(counted(files)[0], len(state.files), drift, migration_problems, lines, allowed, out)


def api_base_document(project_dir: Path, ref: str) -> dict:
    """The earlier OpenAPI document: a file, or generated/openapi/openapi.json at a git ref."""
    candidate = Path(ref)
    if candidate.is_file():
        doc = read_json(candidate)
        if doc is None:
            raise UsageError(f"--api-base {ref}: not a JSON document")
        return doc
    rel = (project_dir / pipeline.GENERATED / OPENAPI_PATH).resolve()
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=project_dir, capture_output=True,
                             text=True, check=True).stdout.strip()
        shown = subprocess.run(["git", "show", f"{ref}:{rel.relative_to(Path(top).resolve()).as_posix()}"],
                               cwd=project_dir, capture_output=True, text=True, check=True).stdout
    except (subprocess.CalledProcessError, FileNotFoundError, ValueError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise UsageError(f"--api-base {ref}: cannot read the OpenAPI document there ({detail.strip()})") from None
    try:
        return json.loads(shown)
    except ValueError:
        raise UsageError(f"--api-base {ref}: the OpenAPI document there is not valid JSON") from None
