"""Tools a test needs beyond Python: missing in CI is a failure (.ci/run installs them), elsewhere a skip."""
from __future__ import annotations

import os
from typing import NoReturn

import pytest

NODE_PACKAGES = "Node packages missing: run `npm ci` in tests/node"


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)
