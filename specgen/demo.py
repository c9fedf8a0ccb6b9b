"""``specgen demo``: the whole platform on one machine, in one command.

Starts a throwaway PostgreSQL (system binaries or pgserver), applies the Supabase stand-in and the
committed migrations, starts the mock Odoo with demo data, registers the instance, and runs the
webhook receiver, a sync worker and the dashboard until Ctrl-C (or ``--duration``). Everything is stopped and
removed on exit.
"""
from __future__ import annotations

import os
import secrets
import signal
import threading
import time
import uuid

import click

from bridge.observe import jsonlog
from bridge.cli.common import contracts_path, log_level_option, project_dir

SECRET_ENV = "SPECGEN_DEMO_ODOO_PASSWORD"


class Services:
    """What the demo has started, stopped in reverse on the way out (each None until it runs)."""

    def __init__(self):
        self.odoo = self.receiver = self.dashboard = self.worker = self.worker_thread = None

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop_event.set()
            if self.worker_thread is not None:
                self.worker_thread.join(30)
        if self.dashboard is not None:
            self.dashboard.stop()
        if self.receiver is not None:
            self.receiver.stop()
        if self.odoo is not None:
            self.odoo.stop()


def _prepare_database(cluster) -> str:
    """A new database with the Supabase stand-in and the committed migrations: its URL."""
    from generator.database.cluster import apply_migrations, apply_sql, standin_sql
    from generator.layout import MIGRATIONS
    from generator.pipeline import compile_project

    migrations = compile_project(project_dir())[1] / MIGRATIONS
    dbname = cluster.create_database(prefix="demo")
    url = cluster.url_for(dbname)
    apply_sql(url, standin_sql())
    if not apply_migrations(url, migrations):
        raise click.ClickException(f"no committed migrations in {migrations}; run `specgen build`")
    return url


def _register(url: str, odoo, token: str) -> tuple:
    """An org and the mock's instance (with the webhook token's hash): (org id, instance id)."""
    from bridge.store.db import connect, webhook_token_hash

    with connect(url) as conn:
        org = conn.execute("insert into app.orgs (name, slug) values ('Demo Org', %s) returning id",
                           (f"demo-{uuid.uuid4().hex[:6]}",)).fetchone()["id"]
        inst = conn.execute(
            """insert into odoo.instances (org_id, name, base_url, database, login, secret_ref, webhook_token_hash)
               values (%s, 'demo', %s, %s, %s, %s, %s) returning id""",
            (org, odoo.url, odoo.db.name, odoo.login, SECRET_ENV, webhook_token_hash(token))).fetchone()["id"]
    return org, inst


def _start(running: Services, url: str, partners, odoo_port, webhook_port, dashboard_port, interval) -> str:
    """Start the mock Odoo, the receiver, a worker and the dashboard; the banner that says where they are."""
    from bridge.http.dashboard import Auth, create_app as create_dashboard
    from bridge.http.receiver import create_app
    from bridge.http.serve import ThreadedServer
    from bridge.settings import Settings
    from bridge.sync.contracts import load_adapters
    from bridge.sync.worker import Worker
    from mock_odoo.server import MockOdooServer

    click.echo(f"starting the mock Odoo with {partners} partners ...", err=True)
    odoo = running.odoo = MockOdooServer(port=odoo_port, demo=partners).start()
    settings = Settings.from_environ({**os.environ, SECRET_ENV: odoo.password})  # the mock's password
    token = secrets.token_urlsafe(18)
    org, inst = _register(url, odoo, token)
    receiver = running.receiver = ThreadedServer(create_app(url), port=webhook_port).start()
    hook = f"{receiver.url}/webhooks/odoo/{inst}/{token}"
    odoo.webhooks.configure(urls=[hook])
    adapters = load_adapters(contracts_path())
    worker = running.worker = Worker(url, adapters, settings=settings, interval=interval, reconcile_every=60)
    running.worker_thread = threading.Thread(target=worker.run, name="sync-worker", daemon=True)
    running.worker_thread.start()
    dashboard_token = secrets.token_urlsafe(18)
    dashboard = running.dashboard = ThreadedServer(create_dashboard(url, Auth(token=dashboard_token)),
                                                   port=dashboard_port).start()
    return f"""
specgen demo is running. Look at:
  mock Odoo        {odoo.url}   (db {odoo.db.name}, login {odoo.login}/{odoo.password}; state at {odoo.url}/mock/state)
  dashboard        {dashboard.url}/   (sign in with the token {dashboard_token})
  webhook receiver {receiver.url}/health   (Odoo posts to {receiver.url}/webhooks/odoo/{inst}/<token>)
  database         psql "{url}"
                   e.g. select name, city, odoo_id from odoo.partners limit 10;
  status           specgen sync status --database-url "{url}"
Edit a partner in the mock (any XML-RPC/JSON-RPC client) and watch it arrive; insert into app.contacts
(org_id {org}) and watch it appear in Odoo. Ctrl-C stops everything.
"""


def _watch(url: str, stop: threading.Event, duration: float) -> None:
    """Every 5 s a line of counts, until `stop` is set or `duration` seconds have passed (0: never)."""
    from bridge.store.db import connect
    from bridge.store.queries import status_data

    started = time.monotonic()
    last = 0.0
    while not stop.is_set():
        if duration and time.monotonic() - started >= duration:
            break
        if time.monotonic() - last >= 5:
            last = time.monotonic()
            s = status_data(url)
            with connect(url) as conn:
                n = conn.execute("select (select count(*) from odoo.partners) as partners, "
                                 "(select count(*) from app.contacts) as contacts, "
                                 "(select count(*) from odoo.sale_orders) as orders").fetchone()
            click.echo(f"[{time.strftime('%H:%M:%S')}] partners={n['partners']} contacts={n['contacts']} "
                       f"orders={n['orders']} outbox={ {r['status']: r['n'] for r in s['outbox']} } "
                       f"events={ {r['status']: r['n'] for r in s['events']} } "
                       f"dead={sum(r['open'] for r in s['dead_letters'])}", err=True)
        stop.wait(0.2)


@click.command()
@click.option("--partners", type=click.IntRange(0, 200000), default=200, show_default=True, help="Demo partners in the mock Odoo.")
@click.option("--odoo-port", type=click.IntRange(0, 65535), default=0, help="Port of the mock Odoo (0: free port).")
@click.option("--webhook-port", type=click.IntRange(0, 65535), default=0, help="Port of the receiver (0: free port).")
@click.option("--dashboard-port", type=click.IntRange(0, 65535), default=0, help="Port of the dashboard (0: free port).")
@click.option("--interval", type=click.FloatRange(0.1), default=2.0, show_default=True, help="Worker cycle, seconds.")
@click.option("--duration", type=click.FloatRange(0), default=0, help="Stop after this many seconds (0: until Ctrl-C).")
@log_level_option("warning")
def demo(partners, odoo_port, webhook_port, dashboard_port, interval, duration, log_level):
    """Run PostgreSQL + mock Odoo + receiver + worker locally and show the sync at work."""
    from generator.database.cluster import URL_ENV, NoPostgres, start_cluster

    jsonlog.setup(log_level)
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    click.echo("starting PostgreSQL ...", err=True)
    try:
        cluster = start_cluster(os.environ.get(URL_ENV))
    except NoPostgres as exc:
        raise click.ClickException(str(exc)) from None
    running = Services()
    try:
        url = _prepare_database(cluster)
        click.echo(_start(running, url, partners, odoo_port, webhook_port, dashboard_port, interval))
        _watch(url, stop, duration)
    finally:
        click.echo("stopping ...", err=True)
        running.stop()
        cluster.stop()
        for s, h in previous.items():
            signal.signal(s, h)
        click.echo("stopped.", err=True)
