"""Run the specgen command line as users and CI do: a fresh process, its exit code and its output."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def specgen(*args: str, cwd: Path, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "specgen", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})
