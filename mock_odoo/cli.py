"""``specgen mock-odoo``: run the mock Odoo 17 server in the foreground."""
from __future__ import annotations

import json
from pathlib import Path

import click

from .faults import FaultPlan, FaultSpecError

FAULTS_HELP = ("Fault plan, e.g. 'seed=7; res.partner/search_read: error500=0.1, latency=20ms; "
               "*/write: late_commit=0.3, lag=90'. Keys: error500, error429, retry_after, reset, "
               "serialization, lock, hang, hang_for, late_execute, slow_commit, after, latency, late_commit, lag. Change it at runtime with "
               "POST /mock/faults. See docs/mock-odoo.md.")


def _parse_faults(ctx, param, value):
    try:
        return FaultPlan.parse(value)
    except FaultSpecError as exc:
        raise click.BadParameter(str(exc)) from None


def _load_models(ctx, param, paths):
    specs = []
    for path in paths:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise click.BadParameter(f"{path}: {exc}") from None
        specs.extend(data if isinstance(data, list) else [data])
    return specs


@click.command(name="mock-odoo", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. The mock has no security: keep it on loopback.")
@click.option("--port", default=8069, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0 picks a free one).")
@click.option("--db", "db_name", default="odoo", show_default=True, help="Database name clients must use.")
@click.option("--login", default="admin", show_default=True, help="Login of the admin user (uid 2).")
@click.option("--password", default="admin", show_default=True, help="Password of the admin user.")
@click.option("--api-key", default="mock-api-key", show_default=True,
              help="API key accepted as a password and as the /json/2 bearer token.")
@click.option("--demo", default=0, show_default=True, type=click.IntRange(0, None), metavar="N",
              help="Seed N partners deterministically, plus companies, products, orders and invoices.")
@click.option("--faults", "plan", default=None, callback=_parse_faults, metavar="SPEC", help=FAULTS_HELP)
@click.option("--webhook-url", "webhook_urls", multiple=True, metavar="URL",
              help="POST Odoo 17 webhook payloads here on create/write/unlink (repeatable).")
@click.option("--webhook-model", "webhook_models", multiple=True, metavar="MODEL",
              help="Models that trigger webhooks (repeatable; default: all).")
@click.option("--webhook-drop", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Fraction of webhook notifications silently lost.")
@click.option("--webhook-field", "webhook_fields", multiple=True, metavar="FIELD",
              help="A field the webhook action sends (repeatable; '*' for every stored field). Default: none, "
                   "as on a new Odoo action: the body is then only _action, _id and _model.")
@click.option("--webhook-after-commit", is_flag=True,
              help="Send after the call commits, from a thread (Odoo 19). Default: Odoo 17, synchronously "
                   "inside the call, before it commits, with a 1 s timeout.")
@click.option("--models-file", "models", multiple=True, callback=_load_models,
              type=click.Path(exists=True, dir_okay=False), metavar="PATH",
              help="JSON file with extra model specs ({'model': ..., 'fields': {...}} or a list).")
@click.option("--state-file", type=click.Path(dir_okay=False), metavar="PATH",
              help="Load data from this JSON file if it exists; save it on shutdown and POST /mock/save.")
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 64), metavar="N",
              help="Calls served at once, each its own transaction on its own snapshot, as Odoo's workers "
                   "(--workers N) serve them. 1 serializes the calls.")
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def mock_odoo(host, port, db_name, login, password, api_key, demo, plan, webhook_urls, webhook_models,
              webhook_drop, webhook_fields, webhook_after_commit, models, state_file, workers, log_level):
    """Run a mock Odoo 17 server speaking Odoo's real external API over HTTP.

    Serves XML-RPC (/xmlrpc/2/common, /xmlrpc/2/object), JSON-RPC (/jsonrpc),
    the web client routes (/web/session/authenticate, /web/dataset/call_kw) and
    Odoo 19's /json/2, with in-memory data. Admin endpoints: GET /mock/state,
    GET|POST|DELETE /mock/faults, GET|POST /mock/webhooks, POST /mock/reset,
    POST /mock/save. Stop with Ctrl-C (SIGINT) or SIGTERM.
    """
    from .server import LOOPBACK, MockOdooServer

    if host not in LOOPBACK:
        click.echo(f"warning: binding {host}; anyone who can reach it can read and change the data",
                   err=True)
    try:
        server = MockOdooServer(host=host, port=port, db=db_name, login=login, password=password,
                                demo=demo, faults=plan, webhook_urls=webhook_urls,
                                webhook_fields=list(webhook_fields) or None, webhook_after_commit=webhook_after_commit,
                                webhook_models=webhook_models or None, webhook_drop=webhook_drop,
                                models=models, state_file=state_file, api_key=api_key, workers=workers,
                                log_level=log_level, allow_remote=True)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None

    def ready(srv):
        click.echo(f"mock Odoo 17 listening on {srv.url} (db {db_name!r}, login {login!r})", err=False)

    try:
        server.serve_forever(on_ready=ready)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo("mock Odoo stopped")


if __name__ == "__main__":  # pragma: no cover
    mock_odoo()
