"""Helpers shared by the sync CLI modules: options, error handling, output, progress."""
from __future__ import annotations

import functools
import json
import logging
import sys
from pathlib import Path

import click
import psycopg

from bridge.observe import jsonlog
from bridge.settings import LOG_LEVEL_ENV, Settings
from specgen.errors import DatabaseUnavailable, RuntimeFailure, UsageError

from bridge.store import db

DB_OPTION = click.option("--database-url", envvar=db.URL_ENV, metavar="URL",
                         help=f"PostgreSQL URL (default: ${db.URL_ENV}).")
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
INSTANCE_OPTION = click.option("--instance", "instance", metavar="NAME|ID", help="Only this instance (default: all active).")


def _traceparent(ctx, param, value: str | None) -> str | None:
    """A W3C traceparent ('00-<32 hex trace id>-<16 hex span id>-<2 hex flags>') -> its trace id."""
    if not value:
        return None
    from bridge.observe.context import parse_traceparent
    trace_id = parse_traceparent(value)
    if trace_id is None:
        raise click.BadParameter(f"{value!r} is not a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)")
    return trace_id


def log_level_option(default: str = "info"):
    return click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default=default,
                        envvar=LOG_LEVEL_ENV, show_default=True, show_envvar=True,
                        help="Least severe JSON log lines written to stderr.")


def serve_http(app, host: str, port: int, what: str, read_timeout: float | None = None) -> None:
    """Run an ASGI app with uvicorn until Ctrl-C/SIGTERM; warn when it listens beyond loopback. A
    request that does not arrive whole within `read_timeout` seconds is closed (bridge.http.serve)."""
    import uvicorn

    from bridge.http.serve import READ_TIMEOUT_S, deadline_protocol
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: binding {host}; put TLS in front of the {what}", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False,
                http=deadline_protocol(read_timeout or READ_TIMEOUT_S))


TRACE_OPTION = click.option("--traceparent", "trace_id", envvar="TRACEPARENT", callback=_traceparent, metavar="TP",
                            help="Continue this W3C trace (default: $TRACEPARENT; else each run starts its own).")


def _need_url(url: str | None) -> str:
    if not url:
        raise click.UsageError(f"no database: pass --database-url or set {db.URL_ENV}")
    return url


def friendly(func):
    """Database / Odoo failures (psycopg's and the client's errors) become specgen's runtime errors: a
    one-line message and exit 1 (specgen.errors), never a traceback."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from bridge.odoo.errors import OdooError
        try:
            return func(*args, **kwargs)
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"database unreachable: {str(exc).strip().splitlines()[0]}") from None
        except psycopg.errors.UndefinedTable as exc:
            raise DatabaseUnavailable(f"database not migrated (apply the project's supabase/migrations, e.g. `supabase db push "
                                     f"--db-url URL`): {exc}") from None
        except OdooError as exc:
            raise RuntimeFailure(f"Odoo error ({exc.name}): {exc}") from None
    return wrapper


def emit(data, as_json: bool, human=None) -> None:
    if as_json:
        click.echo(json.dumps(data, default=str, indent=2, sort_keys=True))
    elif human:
        human(data)
    else:
        for k, v in (data.items() if isinstance(data, dict) else enumerate(data)):
            click.echo(f"{k}: {v}")


class Progress:
    """A counter on stderr for long work (a live line on a terminal, a line per step otherwise)."""

    def __init__(self, label: str, enabled: bool = True):
        self.label, self.n, self.enabled = label, 0, enabled
        self.tty = sys.stderr.isatty()

    def __call__(self, k: int) -> None:
        self.n += k
        if self.enabled and self.tty:
            click.echo(f"\r{self.label}: {self.n}", err=True, nl=False)

    def done(self) -> None:
        if self.enabled and (self.n or not self.tty):
            click.echo(f"{chr(13) if self.tty else ''}{self.label}: {self.n} done", err=True)


def settings() -> Settings:
    """The runtime's settings, read from the environment once per command line (click's context keeps
    them), then passed down: nothing under bridge/cli reads the environment."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return Settings.from_environ()
    meta = ctx.find_root().meta
    if "specgen.settings" not in meta:
        meta["specgen.settings"] = Settings.from_environ()
    return meta["specgen.settings"]


def _setup(level="warning", given: str | None = None) -> Settings:
    """Logs (at ``given``, else $SPECGEN_LOG_LEVEL, else ``level``) and traces (OTEL_* variables; off when
    unset) as the settings say; what the settings could not read is logged once."""
    current = settings()
    jsonlog.setup(given or current.log_level or level)
    from bridge.observe import tracing
    tracing.configure_from_env(current.environ)
    for problem in current.problems:
        jsonlog.log(jsonlog.get("settings"), logging.WARNING, problem)
    return current


def project_dir() -> Path:
    """The project the command works on: -C's directory, else the current one."""
    ctx = click.get_current_context(silent=True)
    return ((ctx.find_root().obj or {}).get("project_dir") if ctx else None) or Path(".")


def contracts_path() -> Path:
    """Where the generated contracts package is: $SPECGEN_CONTRACTS_PATH, else the project's
    generated/python."""
    return settings().contracts_path or project_dir() / "generated" / "python"


def _adapters(entity: str | None = None):
    from bridge.sync.contracts import load_adapters, pull_order
    try:
        adapters = load_adapters(contracts_path())
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    if entity and entity not in adapters:
        raise click.BadParameter(f"unknown entity {entity!r}; known: {', '.join(sorted(adapters))}", param_hint="--entity")
    return adapters, pull_order(adapters)


def _instances(conn, only):
    found = db.instances(conn, only)
    if only and not found:
        raise click.BadParameter(f"no active instance named or with id {only!r}", param_hint="--instance")
    return found
