"""``specgen dashboard``: serve the sync health dashboard."""
from __future__ import annotations

import click

from bridge.cli.common import DB_OPTION, _need_url, _setup, log_level_option, serve_http, settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=8071, show_default=True)
@click.option("--token-env", default="SPECGEN_DASHBOARD_TOKEN", show_default=True, metavar="VAR",
              help="Env var holding the dashboard token (sign in with it, or send it as a Bearer token).")
@click.option("--jwt-secret-env", default="SUPABASE_JWT_SECRET", show_default=True, metavar="VAR",
              help="Env var holding the project's JWT secret; with it, the service-role key signs in too.")
@click.option("--secret-key-env", default="SUPABASE_SECRET_KEY", show_default=True, metavar="VAR",
              help="Env var holding the project's secret API key(s) (sb_secret_..., comma-separated for rotation).")
@click.option("--jwks-env", default="SUPABASE_JWKS", show_default=True, metavar="VAR",
              help="Env var holding the URL or file of the project's JWKS; JWTs signed ES256/RS256 by its keys sign in.")
@log_level_option()
@DB_OPTION
def dashboard(host, port, token_env, jwt_secret_env, secret_key_env, jwks_env, log_level, database_url):
    """Serve the sync health dashboard until Ctrl-C/SIGTERM.

    One page per glance: every instance and model with last success, cursor lag, error rate and dead
    letters (the facts and alert flags of ops.sync_health), queue depths, p50/p95/p99 latency over time,
    recent runs with their trace ids; a dead-letter browser with replay; a page per trace. The same
    data as JSON under /api/ (health, summary, runs, latency, dead-letters).

    Access needs the token in $SPECGEN_DASHBOARD_TOKEN, or a Supabase key: the legacy service-role
    key when $SUPABASE_JWT_SECRET is set, a secret API key listed in $SUPABASE_SECRET_KEY, or a
    service_role JWT signed by a key of the JWKS in $SUPABASE_JWKS. It refuses to start with none.
    """
    from bridge.http.dashboard import Auth, create_app
    from bridge.http.dashboard.keys import parse_secret_keys
    url = _need_url(database_url)
    current = settings()
    token, secret = current.environ.get(token_env), current.environ.get(jwt_secret_env)
    jwks = current.secret(jwks_env)
    try:
        secret_keys = parse_secret_keys(current.environ.get(secret_key_env))
    except ValueError as exc:
        raise click.UsageError(f"${secret_key_env}: {exc}") from None
    if not (token or secret or secret_keys or jwks):
        raise click.UsageError(f"set ${token_env} (a long random token), ${jwt_secret_env}, ${secret_key_env} or "
                               f"${jwks_env} (to accept a Supabase key): the dashboard never runs open")
    if token is not None and len(token) < 16:
        raise click.UsageError(f"${token_env} is too short: use at least 16 characters (e.g. `openssl rand -hex 24`)")
    _setup(given=log_level)
    app = create_app(url, Auth(token=token, jwt_secret=secret, secret_keys=secret_keys, jwks=jwks))
    click.echo(f"sync dashboard on http://{host}:{port}/ (sign in with ${token_env}"
               f"{' or a Supabase key' if secret or secret_keys or jwks else ''})", err=True)
    serve_http(app, host, port, "dashboard")
