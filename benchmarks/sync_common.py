"""Shared setup of the sync benchmarks: a throwaway PostgreSQL with the migrations, one org + instance."""
from __future__ import annotations

import contextlib
import re
import os
import platform
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge.store.db import connect, webhook_token_hash  # noqa: E402
from machine import cpu_model  # noqa: E402
from generator.database.cluster import URL_ENV, apply_migrations, apply_sql, standin_sql, start_cluster  # noqa: E402

SECRET_ENV = "SPECGEN_BENCH_ODOO_PASSWORD"
TOKEN = "bench-webhook-token"


def machine() -> dict:
    cpu = cpu_model()
    pg = subprocess.run(["postgres", "--version"], capture_output=True, text=True).stdout.strip() or "?"
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "postgres": pg}


def migrated_database():
    cluster = start_cluster(os.environ.get(URL_ENV))
    name = cluster.create_database(prefix="bench")
    url = cluster.url_for(name)
    apply_sql(url, standin_sql())
    apply_migrations(url, ROOT / "supabase/migrations")
    return cluster, url


def add_instance(url: str, odoo) -> dict:
    os.environ[SECRET_ENV] = odoo.password
    with connect(url) as conn:
        org = conn.execute("insert into app.orgs (name, slug) values ('Bench', %s) returning id",
                           (f"bench-{uuid.uuid4().hex[:6]}",)).fetchone()["id"]
        return dict(conn.execute(
            """insert into odoo.instances (org_id, name, base_url, database, login, secret_ref, webhook_token_hash)
               values (%s, 'bench', %s, 'odoo', %s, %s, %s) returning *""",
            (org, odoo.url, odoo.login, SECRET_ENV, webhook_token_hash(TOKEN))).fetchone())


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


class _Mock:
    login = password = "admin"

    def __init__(self, url: str, pid: int | None = None):
        self.url = url
        self.pid = pid


@contextlib.contextmanager
def mock_process(partners: int, *extra: str):
    """The mock Odoo in a subprocess (CLI), seeded with ``partners`` demo partners."""
    proc = subprocess.Popen([sys.executable, "-c", "from mock_odoo.cli import mock_odoo; mock_odoo()",
                             "--port", "0", "--demo", str(partners), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://\S+", line)
        if not match:
            raise RuntimeError(f"mock Odoo did not start: {line}{proc.stdout.read()[:2000]}")
        yield _Mock(match.group(0), proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


# --- CPU accounting (Linux /proc): where the cores went, per component -------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()  # fields from 3 (state) on; comm may hold spaces


def process_cpu(pid: int, children: bool = False) -> float:
    """CPU seconds (user + system) of one process; with ``children``, plus its reaped children."""
    f = _stat(pid)
    if f is None:
        return 0.0
    ticks = int(f[11]) + int(f[12]) + ((int(f[13]) + int(f[14])) if children else 0)
    return ticks / _TICK


def postgres_cpu(cluster) -> float | None:
    """CPU seconds of a whole system cluster: the postmaster, its live children (backends, WAL writer,
    autovacuum...) and the children it has reaped (ended backends). None when it cannot be seen."""
    pidfile = Path(cluster._dir or "", "data", "postmaster.pid")
    try:
        postmaster = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    total = process_cpu(postmaster, children=True)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            f = _stat(int(entry.name))
            if f is not None and int(f[1]) == postmaster:
                total += (int(f[11]) + int(f[12])) / _TICK
    return total


def own_cpu() -> float:
    """CPU seconds of this process, every thread."""
    t = os.times()
    return t.user + t.system
