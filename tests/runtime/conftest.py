"""Fixtures for the sync tests: a migrated database with one org and one Odoo instance, a mock Odoo."""
from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import pytest

from bridge.sync.contracts import load_adapters
from bridge.store.db import connect
from mock_odoo.server import MockOdooServer
from bridge.odoo.client import OdooClient, RetryPolicy
from bridge.settings import CONTRACTS_PATH_ENV, Settings
from generator.database.cluster import apply_migrations
from tests.runtime import project

SECRET_ENV = "SPECGEN_TEST_ODOO_PASSWORD"
WEBHOOK_TOKEN = "test-webhook-token-0123456789"


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


def add_instance(url: str, odoo_url: str, *, name: str = "main", protocol: str = "jsonrpc") -> dict:
    os.environ[SECRET_ENV] = "admin"
    with connect(url) as conn:
        org = conn.execute("insert into app.orgs (name, slug) values (%s, %s) returning id",
                           (f"Org {name}", f"org-{uuid.uuid4().hex[:8]}")).fetchone()["id"]
        inst = conn.execute(
            """insert into odoo.instances (org_id, name, base_url, database, login, secret_ref, protocol, webhook_token_hash)
               values (%s,%s,%s,'odoo','admin',%s,%s,%s) returning *""",
            (org, name, odoo_url, SECRET_ENV, protocol, hashlib.sha256(WEBHOOK_TOKEN.encode()).hexdigest())).fetchone()
    return dict(inst)


@pytest.fixture
def instance(db_url, odoo):
    return add_instance(db_url, odoo.url)


def runtime_settings(**environ: str) -> Settings:
    """The settings an in-process component gets in these tests: the test instances' secret (the CLI
    tests set it in the environment instead, which the CLI reads), plus ``environ``."""
    return Settings(environ={SECRET_ENV: "admin", **environ})


def fast_client(instance: dict, settings: Settings | None = None, **kw) -> OdooClient:
    """A client whose retries sleep little, so fault tests stay fast."""
    kw.setdefault("retry", RetryPolicy(attempts=8, base=0.01, cap=0.05, retry_after_cap=0.05))
    kw.setdefault("timeout", 5.0)
    return OdooClient.for_instance(instance, settings or runtime_settings(), **kw)


def odoo_records(odoo: MockOdooServer, model: str, fields: list[str], domain=None) -> dict[int, dict]:
    """Every record of a model straight from the mock (over JSON-RPC), archived included."""
    c = OdooClient(odoo.url, "odoo", "admin", "admin")
    try:
        rows = c.search_read(model, domain or [], fields + ["write_date"], context={"active_test": False})
    finally:
        c.close()
    return {r["id"]: r for r in rows}


def table_rows(url: str, table: str, instance_id) -> dict[int, dict]:
    with connect(url) as conn:
        rows = conn.execute(f"select * from {table} where instance_id = %s", (instance_id,)).fetchall()
    return {r["odoo_id"]: r for r in rows}
