"""The sync tests' own project: tests/runtime/project/spec (a copy of the platform's spec, so a change of
spec/ does not move these tests), built once per test process into a temporary folder."""
from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from generator import writer
from generator.pipeline import GENERATED, compile_ir, render_all

SPEC_ROOT = Path(__file__).resolve().parent / "project"
STAMP = "20260101000000"


@lru_cache(maxsize=1)
def generated() -> Path:
    """The project's generated/ folder (built on first use, removed when the process ends)."""
    root = Path(tempfile.mkdtemp(prefix="specgen-sync-project-"))
    atexit.register(shutil.rmtree, root, True)
    out = root / GENERATED
    writer.write(out, render_all(compile_ir(SPEC_ROOT), STAMP), prune=False)
    return out
