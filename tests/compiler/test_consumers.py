"""Every valid golden tree is accepted by all its consumers: PostgreSQL, Python, tsc, zod, @dbml/core and
the OpenAPI validator (tests/consumers.py). The awkward_names case holds the names and strings that broke
them: Python and JavaScript keywords, `constructor`, emoji, quotes, backslashes, newlines, numeric(1000)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.consumers import NODE_DIR, assert_consumers_accept
from tests.needs import NODE, NODE_PACKAGES, unavailable

from generator.pipeline import compile_ir, render_all

pytestmark = [pytest.mark.node, pytest.mark.db]

GOLDEN = Path(__file__).parent / "golden"
STAMP = "20260101000000"
VALID = sorted(p.name for p in GOLDEN.iterdir() if (p / "expected").is_dir())


@pytest.fixture(scope="session")
def node() -> str:
    if not shutil.which("node"):
        unavailable(NODE)
    if not (NODE_DIR / "node_modules" / ".bin" / "tsc").exists():
        unavailable(NODE_PACKAGES)
    return shutil.which("node")


def test_awkward_names_is_among_the_cases():
    assert "awkward_names" in VALID


@pytest.mark.parametrize("case", VALID)
def test_every_consumer_accepts_the_golden_tree(case, node, supabase_db):
    ir = compile_ir(GOLDEN / case)
    assert_consumers_accept(render_all(ir, STAMP), ir, supabase_db)
