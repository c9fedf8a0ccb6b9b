"""The test command prepares the Node packages itself when they are missing or stale (tests/needs.py)."""
from __future__ import annotations

import json
import shutil

import pytest

from tests.needs import NODE_DIR, node_packages_stale

pytestmark = pytest.mark.node


def test_the_installed_packages_match_the_lockfile():
    assert not node_packages_stale(), "pytest_configure should have run `npm ci` in tests/node"


def test_missing_or_changed_packages_are_stale(tmp_path):
    for name in ("package.json", "package-lock.json"):
        shutil.copy(NODE_DIR / name, tmp_path / name)
    assert node_packages_stale(tmp_path)  # no node_modules at all
    (tmp_path / "node_modules").mkdir()
    installed = json.loads((NODE_DIR / "node_modules/.package-lock.json").read_text())
    (tmp_path / "node_modules/.package-lock.json").write_text(json.dumps(installed))
    assert not node_packages_stale(tmp_path)
    zod = installed["packages"]["node_modules/zod"]
    installed["packages"]["node_modules/zod"] = {**zod, "version": "0.0.1"}
    (tmp_path / "node_modules/.package-lock.json").write_text(json.dumps(installed))
    assert node_packages_stale(tmp_path)  # another version installed
    del installed["packages"]["node_modules/zod"]
    (tmp_path / "node_modules/.package-lock.json").write_text(json.dumps(installed))
    assert node_packages_stale(tmp_path)  # one missing
