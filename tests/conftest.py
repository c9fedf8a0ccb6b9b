"""Shared fixtures: the repository root, a throwaway PostgreSQL, and fresh Supabase-like databases."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from generator.database.cluster import URL_ENV, NoPostgres, apply_sql, standin_sql, start_cluster

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _specgen_logger_restored():
    """A test that runs a CLI in-process calls jsonlog.setup(), which stops the `specgen` logger from
    propagating; put it back so a later test's caplog still sees records, whatever the test order."""
    root = logging.getLogger("specgen")
    saved = (list(root.handlers), root.level, root.propagate)
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    root.propagate = saved[2]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def pg_cluster():
    """One PostgreSQL for the whole session. In CI a missing server fails; elsewhere it skips."""
    try:
        cluster = start_cluster(os.environ.get(URL_ENV))
    except NoPostgres as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def standin_template(pg_cluster) -> str:
    """A template database on which only the Supabase stand-in ran."""
    name = pg_cluster.create_database(prefix="standin")
    apply_sql(pg_cluster.url_for(name), standin_sql())
    yield name
    pg_cluster.drop_database(name)


@pytest.fixture
def supabase_db(pg_cluster, standin_template) -> str:
    """URL of a fresh database with the Supabase stand-in, dropped after the test."""
    name = pg_cluster.create_database(template=standin_template)
    yield pg_cluster.url_for(name)
    pg_cluster.drop_database(name)


def pytest_configure(config):
    """Prepare what the tests can by themselves: the pinned Node packages (`npm ci` in tests/node when
    Node.js is here and they are missing or stale). Not under `-m "not node"`, which needs none."""
    if "not node" in (config.getoption("markexpr", "") or "") or config.getoption("collectonly", False):
        return
    from tests.needs import prepare_node_packages
    config._specgen_node_problem = prepare_node_packages()


def pytest_report_header(config):
    """One line for what this machine cannot provide (the tests needing it skip, or fail under CI)."""
    from tests.needs import missing_tools
    problems = missing_tools()
    node = getattr(config, "_specgen_node_problem", None)
    if node and node not in problems:
        problems.append(node)
    return "not available here: " + "; ".join(problems) if problems else None


def pytest_collection_modifyitems(config, items):
    """A test that needs PostgreSQL (the pg_cluster fixture, directly or through another) must carry the
    `db` marker, so the quick loop `-m "not db and not node"` never starts a server."""
    unmarked = [item.nodeid for item in items
                if "pg_cluster" in getattr(item, "fixturenames", ()) and item.get_closest_marker("db") is None]
    if unmarked:
        raise pytest.UsageError("tests that use PostgreSQL without the db marker:\n  " + "\n  ".join(unmarked))
