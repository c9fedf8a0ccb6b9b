"""Fixtures for the sync tests: a migrated database with one org and one Odoo instance, a mock Odoo."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from bridge.settings import CONTRACTS_PATH_ENV
from bridge.sync.contracts import load_adapters
from generator.database.cluster import apply_migrations
from mock_odoo.server import MockOdooServer
from tests.runtime import project, runtimes
from tests.runtime.support import SECRET_ENV, add_instance



@pytest.fixture(scope="session")
def sync_generated() -> Path:
    """The generated/ folder of the sync tests' own project (tests/runtime/project.py). The command lines
    these tests run find its adapters through $SPECGEN_CONTRACTS_PATH, as a deployment would."""
    out = project.generated()
    previous = os.environ.get(CONTRACTS_PATH_ENV)
    os.environ[CONTRACTS_PATH_ENV] = str(out / "python")
    yield out
    if previous is None:
        os.environ.pop(CONTRACTS_PATH_ENV, None)
    else:
        os.environ[CONTRACTS_PATH_ENV] = previous


@pytest.fixture(scope="session", autouse=True)
def _contracts_for_the_cli(sync_generated):
    """Every sync test sees the project's contracts, whether it calls a component or a command line."""


@pytest.fixture(scope="session")
def adapters(sync_generated):
    return load_adapters(sync_generated / "python")


@pytest.fixture(scope="session")
def migrated_template(pg_cluster, standin_template, sync_generated):
    """A template database: stand-in + the project's migrations."""
    name = pg_cluster.create_database(template=standin_template, prefix="syncmig")
    apply_migrations(pg_cluster.url_for(name), sync_generated / "supabase/migrations")
    yield name
    pg_cluster.drop_database(name)


@pytest.fixture
def db_url(pg_cluster, migrated_template):
    name = pg_cluster.create_database(template=migrated_template)
    yield pg_cluster.url_for(name)
    pg_cluster.drop_database(name)


@pytest.fixture
def odoo():
    os.environ[SECRET_ENV] = "admin"
    with MockOdooServer(demo=60) as server:
        yield server


@pytest.fixture
def instance(db_url, odoo):
    return add_instance(db_url, odoo.url)


@pytest.fixture(params=runtimes.RUNTIMES)
def runtime(request):
    """The scenario runs against each runtime (tests/runtime/runtimes.py); the function one needs Deno."""
    if request.param == "functions":
        request.applymarker(pytest.mark.deno)
        from tests.functions.support import deno
        deno()
    rt = runtimes.make(request.param)
    yield rt
    if hasattr(rt, "close"):
        rt.close()
