"""verify: the schema the migrations build against the schema the spec describes."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from generator import pipeline


def verify(project_dir: Path, database_url: str | None = None, progress: Callable[[str], None] = lambda m: None,
           cluster_url: str | None = None) -> list[str]:
    """The differences (none: the migrations build the spec's schema). Without `database_url` the
    migrations are applied to a throwaway PostgreSQL (at `cluster_url` when given)."""
    from generator.migrate import verify as verifying
    ir, out = pipeline.compile_project(project_dir)
    return verifying.verify(out, ir, database_url, progress=progress,
                            cluster_url=cluster_url)
