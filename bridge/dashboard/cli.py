"""``specgen dashboard``: serve the sync health dashboard."""
from __future__ import annotations

import os

import click

from bridge import jsonlog
from bridge.cli_common import DB_OPTION, _need_url, log_level_option, serve_http


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=8071, show_default=True)
@click.option("--token-env", default="SPECGEN_DASHBOARD_TOKEN", show_default=True, metavar="VAR",
              help="Env var holding the dashboard token (sign in with it, or send it as a Bearer token).")
@click.option("--jwt-secret-env", default="SUPABASE_JWT_SECRET", show_default=True, metavar="VAR",
              help="Env var holding the project's JWT secret; with it, the service-role key signs in too.")
@log_level_option()
@DB_OPTION
def dashboard(host, port, token_env, jwt_secret_env, log_level, database_url):
    """Serve the sync health dashboard until Ctrl-C/SIGTERM.

    One page per glance: every instance and model with last success, cursor lag, error rate and dead
    letters (the facts and alert flags of ops.sync_health), queue depths, p50/p95/p99 latency over time,
    recent runs with their trace ids; a dead-letter browser with replay; a page per trace. The same
    data as JSON under /api/ (health, summary, runs, latency, dead-letters).

    Access needs the token in $SPECGEN_DASHBOARD_TOKEN, or the service-role key when
    $SUPABASE_JWT_SECRET is set. The command refuses to start with neither.
    """
    from bridge.dashboard import Auth, create_app
    url = _need_url(database_url)
    token, secret = os.environ.get(token_env), os.environ.get(jwt_secret_env)
    if not token and not secret:
        raise click.UsageError(f"set ${token_env} (a long random token) or ${jwt_secret_env} (to accept the "
                               "service-role key): the dashboard never runs open")
    if token is not None and len(token) < 16:
        raise click.UsageError(f"${token_env} is too short: use at least 16 characters (e.g. `openssl rand -hex 24`)")
    jsonlog.setup(log_level)
    app = create_app(url, Auth(token=token, jwt_secret=secret))
    click.echo(f"sync dashboard on http://{host}:{port}/ (sign in with ${token_env}"
               f"{' or the service-role key' if secret else ''})", err=True)
    serve_http(app, host, port, "dashboard")
