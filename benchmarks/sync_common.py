"""Shared setup of the sync benchmarks: a throwaway PostgreSQL with the migrations, one org + instance."""
from __future__ import annotations

import contextlib
import hashlib
import re
import os
import platform
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge.db import connect  # noqa: E402
from machine import cpu_model  # noqa: E402
from generator.database.cluster import apply_sql, standin_sql, start_cluster  # noqa: E402

SECRET_ENV = "SPECGEN_BENCH_ODOO_PASSWORD"
TOKEN = "bench-webhook-token"


def machine() -> dict:
    cpu = cpu_model()
    pg = subprocess.run(["postgres", "--version"], capture_output=True, text=True).stdout.strip() or "?"
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "postgres": pg}


def migrated_database():
    cluster = start_cluster()
    name = cluster.create_database(prefix="bench")
    url = cluster.url_for(name)
    apply_sql(url, standin_sql())
    for path in sorted((ROOT / "generated/supabase/migrations").glob("*.sql")):
        apply_sql(url, path.read_text())
    return cluster, url


def add_instance(url: str, odoo) -> dict:
    os.environ[SECRET_ENV] = odoo.password
    with connect(url) as conn:
        org = conn.execute("insert into app.orgs (name, slug) values ('Bench', %s) returning id",
                           (f"bench-{uuid.uuid4().hex[:6]}",)).fetchone()["id"]
        return dict(conn.execute(
            """insert into odoo.instances (org_id, name, base_url, database, login, secret_ref, webhook_token_hash)
               values (%s, 'bench', %s, 'odoo', %s, %s, %s) returning *""",
            (org, odoo.url, odoo.login, SECRET_ENV, hashlib.sha256(TOKEN.encode()).hexdigest())).fetchone())


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


class _Mock:
    login = password = "admin"

    def __init__(self, url: str):
        self.url = url


@contextlib.contextmanager
def mock_process(partners: int, *extra: str):
    """The mock Odoo in a subprocess (CLI), seeded with ``partners`` demo partners."""
    proc = subprocess.Popen([sys.executable, "-c", "from bridge.mock_odoo.cli import mock_odoo; mock_odoo()",
                             "--port", "0", "--demo", str(partners), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://\S+", line)
        if not match:
            raise RuntimeError(f"mock Odoo did not start: {line}{proc.stdout.read()[:2000]}")
        yield _Mock(match.group(0))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
