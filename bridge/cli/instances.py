"""`specgen sync instance add|list|remove`: Odoo instances, with credentials referenced by env var name."""
from __future__ import annotations

import re
import secrets

import click

from bridge.store import db, instances as stored
from specgen.errors import GuardedGroup
from bridge.cli.common import DB_OPTION, JSON_OPTION, _need_url, emit, friendly, settings


@click.group(cls=GuardedGroup)
def instance():
    """Register, list and remove Odoo instances. Credentials are referenced by env var name."""


@instance.command("add")
@click.option("--name", required=True, help="Instance name, unique per org.")
@click.option("--url", "base_url", required=True, help="Odoo base URL, e.g. https://acme.odoo.com")
@click.option("--db", "database", required=True, help="Odoo database name.")
@click.option("--login", required=True, help="Odoo user login.")
@click.option("--secret-env", required=True, help="NAME of the environment variable holding the password or API key.")
@click.option("--protocol", type=click.Choice(["jsonrpc", "xmlrpc", "json2"]), default="jsonrpc", show_default=True)
@click.option("--org", "org", required=True, help="Org id (uuid) or slug owning the mirrored rows.")
@click.option("--webhook-token", help="Secret URL token for webhooks (default: generated and printed once).")
@click.option("--webhook-hmac-secret-env", "hmac_env", metavar="NAME",
              help="NAME of the environment variable holding this instance's own HMAC key for signed webhooks "
                   "(default: the receiver's shared key, --hmac-secret-env of `webhooks serve`).")
@click.option("--request-limit", "request_limit", type=click.IntRange(1), default=db.DEFAULT_REQUEST_LIMIT, show_default=True,
              metavar="SECONDS",
              help="Longest an Odoo call of this server may run before it commits: its limit_time_real (120 s by "
                   "default) plus a margin; much more for a threaded server (--workers 0) or raised limits. The "
                   "pull re-reads this far back, and a create whose answer was lost is waited for this long.")
@DB_OPTION
@JSON_OPTION
@friendly
def instance_add(name, base_url, database, login, secret_env, protocol, org, webhook_token, hmac_env, request_limit,
                 database_url, as_json):
    """Register an Odoo instance. Only the env var NAMEs are stored, never the secrets."""
    url = _need_url(database_url)
    for value, hint in ((secret_env, "--secret-env"), (hmac_env, "--webhook-hmac-secret-env")):
        if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise click.BadParameter("must be an environment variable NAME, not the secret itself", param_hint=hint)
    if not re.match(r"^https?://", base_url):
        raise click.BadParameter("must start with http:// or https://", param_hint="--url")
    token = webhook_token or secrets.token_urlsafe(24)
    with db.connect(url) as conn:
        try:
            owner = stored.org_id(conn, org)
        except stored.NoSuchOrg:
            raise click.BadParameter(f"no org with id or slug {org!r}", param_hint="--org") from None
        try:
            new_id = stored.register(conn, owner, name, base_url.rstrip("/"), database, login, secret_env, protocol,
                                     token, hmac_env, request_limit)
        except stored.DuplicateInstance:
            raise click.BadParameter(f"an instance named {name!r} already exists in this org", param_hint="--name") from None
    result = {"id": str(new_id), "name": name, "webhook_path": f"/webhooks/odoo/{new_id}/{token}"}
    emit(result, as_json, lambda d: click.echo(
        f"instance {name} registered: {d['id']}\nwebhook URL path (shown once, keep it secret): {d['webhook_path']}"))


@instance.command("list")
@DB_OPTION
@JSON_OPTION
@friendly
def instance_list(database_url, as_json):
    """List instances (never any secret)."""
    with db.connect(_need_url(database_url)) as conn:
        rows = stored.listed(conn)
    current = settings()
    rows = [{**r, "secret_set": bool(current.secret(r["secret_ref"])),
             "webhook_hmac_secret_set": bool(current.secret(r["webhook_hmac_secret_ref"]))}
            for r in rows]

    def human(rows):
        if not rows:
            click.echo("no instances")
        for r in rows:
            hmac_ref = r["webhook_hmac_secret_ref"]
            hmac_note = f" hmac=${hmac_ref}{'' if r['webhook_hmac_secret_set'] else ' (NOT SET)'}" if hmac_ref else ""
            click.echo(f"{r['id']}  {r['name']:<20} {r['base_url']}  db={r['database']} login={r['login']} "
                       f"secret=${r['secret_ref']}{'' if r['secret_set'] else ' (NOT SET)'} {r['protocol']}"
                       f"{hmac_note}{'' if r['active'] else ' inactive'}")
    emit(rows, as_json, human)


@instance.command("remove")
@click.argument("name_or_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@DB_OPTION
@friendly
def instance_remove(name_or_id, yes, database_url):
    """Remove an instance and, by cascade, its mirrored rows, cursors and queues."""
    with db.connect(_need_url(database_url)) as conn:
        found = db.instances(conn, name_or_id, active=False)
        if not found:
            raise click.BadParameter(f"no instance named or with id {name_or_id!r}", param_hint="NAME_OR_ID")
        if len(found) > 1:
            raise click.BadParameter(f"{name_or_id!r} names several instances; use the id", param_hint="NAME_OR_ID")
        if not yes:
            click.confirm(f"remove instance {found[0]['name']} and every row mirrored from it?", abort=True)
        stored.remove(conn, found[0]["id"])
    click.echo(f"removed {found[0]['name']}")
