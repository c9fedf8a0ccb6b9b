"""Copies of a project for tests that build or migrate it: its spec, generated/ and its Supabase folder."""
from __future__ import annotations

import shutil
from pathlib import Path

PARTS = ("spec", "generated", "supabase")  # what a checkout of a specgen project holds


def copy_project(src: Path, dest: Path, parts: tuple[str, ...] = PARTS) -> Path:
    """Copy the parts `src` has into `dest` (created); returns `dest`."""
    for part in parts:
        if (src / part).is_dir():
            shutil.copytree(src / part, dest / part)
    return dest
