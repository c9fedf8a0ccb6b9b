"""CLI of the sync runtime: ``sync`` (instances, pull, push, reconcile, process, replay, status, worker),
``webhooks serve``. Mounted lazily in the main ``specgen`` CLI.

Bad input is a usage error (exit 2) with a clear message; an unreachable database or Odoo is exit 1;
pull, reconcile, push and process exit 3 when they did the work of every other instance but skipped
one whose configuration is broken (named on stderr and in the JSON). Never a traceback.
"""
from __future__ import annotations

import datetime as dt
import re

import click

from bridge.observe import jsonlog
from specgen.errors import Failed, GuardedGroup, Skipped

from bridge.store import db, retention
from bridge.store.queries import status_data, trace_story
from bridge.cli.common import (DB_OPTION, INSTANCE_OPTION, JSON_OPTION, TRACE_OPTION, Progress, _adapters,
                               _instances, _need_url, _setup, emit, friendly, log_level_option, serve_http, settings)


# -------------------------------------------------------------------------------------------------
@click.group(cls=GuardedGroup)
def sync():
    """Synchronise Odoo instances with the database (pull, push, webhooks, dead letters)."""


from bridge.cli.instances import instance  # noqa: E402

sync.add_command(instance)


def _client_for_cli():
    from bridge.sync.worker import ClientCache
    return ClientCache(settings())


def _usable(url, insts, clients) -> tuple[list[tuple[dict, object]], list[dict]]:
    """([(instance, client)], [skipped]): an instance whose client cannot be made (its secret env var
    unset, say) is skipped and reported, as the worker does, so one tenant's broken configuration
    stops only that tenant. Its queued work is left as it is (not claimed, no attempt counted, no
    dead letter): fixing the configuration is enough for it to go through. The skip is recorded
    where `sync status` and the dashboard show it, once per reason (cron runs must not flood runs)."""
    from bridge.store.queries import skipped_instances
    from bridge.sync.worker import client_or_reason, record_skip
    usable, skipped = [], []
    for inst in insts:
        client, reason = client_or_reason(clients, inst)
        if client is not None:
            usable.append((inst, client))
            continue
        skipped.append({"instance": inst["name"], "id": str(inst["id"]), "reason": reason})
        click.echo(f"skipped instance {inst['name']}: {reason}", err=True)
        with db.connect(url) as conn:
            known = {(str(s["id"]), s["reason"]) for s in skipped_instances(conn)}
        if (str(inst["id"]), jsonlog.redact(reason)) not in known:  # the run's error is stored redacted
            record_skip(url, inst, reason)
    return usable, skipped


def _finish(out: dict, skipped: list[dict], as_json: bool, human=None) -> None:
    if skipped:
        out = {**out, "skipped_instances": skipped}
    emit(out, as_json, human)
    if skipped:
        raise Skipped("")  # the output above names them


def _per_entity(database_url, instance, entity, work, as_json) -> None:
    """``work(url, instance, adapters, adapter, client, label)`` for every selected instance and pulled
    entity (targets of many2ones first); results keyed ``instance/entity``."""
    _setup()
    url = _need_url(database_url)
    adapters, order = _adapters(entity)
    clients = _client_for_cli()
    with db.connect(url) as conn:
        insts = _instances(conn, instance)
    out = {}
    try:
        usable, skipped = _usable(url, insts, clients)
        for inst, client in usable:
            for adapter in order:
                if not entity or adapter.entity == entity:
                    label = f"{inst['name']}/{adapter.entity}"
                    out[label] = work(url, inst, adapters, adapter, client, label)
    finally:
        clients.close()
    _finish(out, skipped, as_json)


@sync.command()
@INSTANCE_OPTION
@click.option("--entity", help="Only this entity (default: every pulled entity).")
@click.option("--full", is_flag=True, help="Ignore the cursor and re-read everything.")
@click.option("--reconcile", "also_reconcile", is_flag=True, help="Also reconcile deletions afterwards.")
@click.option("--lookback", type=click.FloatRange(0), default=None,
              help="Seconds re-read before the cursor (default: the instance's request_limit_seconds, 180 unless set).")
@TRACE_OPTION
@DB_OPTION
@JSON_OPTION
@friendly
def pull(instance, entity, full, also_reconcile, lookback, trace_id, database_url, as_json):
    """Pull changed records from Odoo."""
    from bridge.sync.pull import pull_entity, reconcile_entity

    def one(url, inst, adapters, adapter, client, label):
        bar = Progress(label, not as_json)
        counts = pull_entity(url, inst, adapters, adapter, client, full=full, progress=bar,
                             mirror_mappings=settings().mirror_mappings,
                             lookback=None if lookback is None else dt.timedelta(seconds=lookback), trace_id=trace_id)
        bar.done()
        if also_reconcile:
            counts["reconcile"] = reconcile_entity(url, inst, adapters, adapter, client, trace_id=trace_id)
        return counts
    _per_entity(database_url, instance, entity, one, as_json)


@sync.command()
@INSTANCE_OPTION
@click.option("--entity", help="Only this entity.")
@TRACE_OPTION
@DB_OPTION
@JSON_OPTION
@friendly
def reconcile(instance, entity, trace_id, database_url, as_json):
    """Compare ids with Odoo: tombstone deleted records, fetch missing ones."""
    from bridge.sync.pull import reconcile_entity
    _per_entity(database_url, instance, entity, lambda url, inst, adapters, adapter, client, label:
                reconcile_entity(url, inst, adapters, adapter, client, trace_id=trace_id), as_json)


@sync.command()
@INSTANCE_OPTION
@click.option("--limit", type=click.IntRange(1, 10000), default=200, show_default=True, help="Rows per claim.")
@click.option("--rounds", type=click.IntRange(1), default=1000, show_default=True,
              help="Stop after this many claims per instance.")
@DB_OPTION
@JSON_OPTION
@friendly
def push(instance, limit, rounds, database_url, as_json):
    """Push pending outbox rows to Odoo."""
    from bridge.sync.push import Pusher
    _drain_queue(Pusher, "pushed", instance, limit, rounds, database_url, as_json)


@sync.command()
@INSTANCE_OPTION
@click.option("--limit", type=click.IntRange(1, 10000), default=500, show_default=True, help="Events per claim.")
@click.option("--rounds", type=click.IntRange(1), default=1000, show_default=True,
              help="Stop after this many claims per instance.")
@DB_OPTION
@JSON_OPTION
@friendly
def process(instance, limit, rounds, database_url, as_json):
    """Process stored webhook events (re-read each record from Odoo and upsert it)."""
    from bridge.sync.processor import Processor
    _drain_queue(Processor, "processed", instance, limit, rounds, database_url, as_json)


def _drain_queue(runner_class, label, instance, limit, rounds, database_url, as_json):
    """Claim and work a queue (outbox or webhook events), instance by instance, until it is empty or
    `rounds` claims were made. Instance by instance, as the worker does, so the rows of an instance
    that is skipped (broken configuration) are never claimed."""
    _setup()
    url = _need_url(database_url)
    adapters, _ = _adapters()
    with db.connect(url) as conn:
        insts = _instances(conn, instance)
    clients = _client_for_cli()
    kw = {"mirror_mappings": settings().mirror_mappings} if label == "processed" else {}
    runner, total = runner_class(url, adapters, clients, **kw), {}
    bar = Progress(label, not as_json)
    try:
        usable, skipped = _usable(url, insts, clients)
        for inst, _client in usable:
            for _ in range(rounds):
                counts = runner.run_once(limit=limit, instance_id=inst["id"], progress=bar)
                for k, v in counts.items():
                    total[k] = total.get(k, 0) + v
                if not counts.get("claimed"):
                    break
    finally:
        clients.close()
    bar.done()
    _finish(total, skipped, as_json)


def _when(value: str | None, name: str):
    if value is None:
        return None
    m = re.fullmatch(r"(\d+)([smhd])", value)
    if m:
        return dt.datetime.now(dt.timezone.utc) - dt.timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours",
                                                                    "d": "days"}[m.group(2)]: int(m.group(1))})
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("expected an ISO timestamp or a duration like 30m, 2h, 1d", param_hint=name) from None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


@sync.command()
@click.option("--id", "ids", multiple=True, type=int, help="Dead letter id (repeatable).")
@click.option("--since", help="Dead letters created at or after (ISO time, or a duration like 2h).")
@click.option("--until", help="... and before this time.")
@click.option("--again", is_flag=True, help="Also replay dead letters already replayed once.")
@DB_OPTION
@JSON_OPTION
@friendly
def replay(ids, since, until, again, database_url, as_json):
    """Re-queue dead letters (by id or time window): pushes go back to the outbox, pulls/webhooks become events."""
    from bridge.store import deadletters
    if not ids and not since and not until:
        raise click.UsageError("say what to replay: --id N (repeatable) and/or --since/--until")
    s, u = _when(since, "--since"), _when(until, "--until")
    counts, _ = deadletters.replay_run(_need_url(database_url), ids=list(ids) or None, since=s, until=u,
                                       include_replayed=again)
    emit(counts, as_json, lambda c: click.echo(
        f"re-queued {c['outbox']} push(es) and {c['events']} event(s); skipped {c['skipped']}"))


@sync.command()
@click.option("--keep", default="7d", show_default=True, metavar="AGE",
              help="History to keep: a duration like 36h or 7d, or an ISO time to keep everything after.")
@click.option("--batch", type=click.IntRange(100, 1_000_000), default=10_000, show_default=True,
              help="Rows deleted per transaction (short transactions, so workers are never held up).")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@DB_OPTION
@JSON_OPTION
@friendly
def prune(keep, batch, dry_run, database_url, as_json):
    """Delete old history: finished runs with their steps, done or dead webhook events and outbox rows,
    and replayed dead letters, older than --keep. Open dead letters, running runs and pending work are
    never deleted. Run it daily (cron, pg_cron, a scheduled job) to keep ops.* and the dashboard fast."""
    cutoff = _when(keep, "--keep")
    url = _need_url(database_url)
    out = {"cutoff": cutoff.isoformat(), "dry_run": dry_run, "deleted": {}}
    with db.connect(url) as conn:
        out["deleted"] = retention.prune(conn, cutoff, batch, dry_run)
    emit(out, as_json, lambda o: click.echo(
        ("would delete " if dry_run else "deleted ") + ", ".join(f"{n} {w}" for w, n in o["deleted"].items())
        + f" (older than {o['cutoff']})"))


@sync.command()
@click.argument("trace_id")
@DB_OPTION
@JSON_OPTION
@friendly
def trace(trace_id, database_url, as_json):
    """Print the whole story of TRACE_ID: webhook, queued changes, runs and their steps, dead letters.

    The same id is in the JSON logs and in the `traceparent` / `X-Trace-Id` headers of every Odoo call.
    Exit 1 if nothing carries it.
    """
    story = trace_story(_need_url(database_url), trace_id)

    def human(rows):
        for r in rows:
            details = {k: v for k, v in r.items() if k not in ("what", "at") and v not in (None, {}, "")}
            click.echo(f"{r['at']:%Y-%m-%d %H:%M:%S.%f}  {r['what']:<17} "
                       + " ".join(f"{k}={v}" for k, v in details.items()))
        click.echo(f"{len(rows)} entries for trace {trace_id}")

    emit(story, as_json, human)
    if not story:
        raise Failed("")


@sync.command()
@DB_OPTION
@JSON_OPTION
@friendly
def status(database_url, as_json):
    """Cursors, queue depths, dead letters and recent runs."""
    data = status_data(_need_url(database_url))

    def human(d):
        click.echo(f"instances: {', '.join(i['name'] for i in d['instances']) or 'none'}")
        for i in d["skipped_instances"]:
            click.echo(f"  SKIPPED {i['name']} since {i['since']:%Y-%m-%d %H:%M:%S}: {i['reason']}")
        for c in d["cursors"]:
            click.echo(f"  cursor {c['instance']}/{c['entity']}: {c['last_write_date']} #{c['last_id']}")
        click.echo("outbox: " + (", ".join(f"{r['status']}={r['n']}" for r in d["outbox"]) or "empty"))
        click.echo("events: " + (", ".join(f"{r['status']}={r['n']}" for r in d["events"]) or "empty"))
        click.echo("dead letters: " + (", ".join(f"{r['source']} open={r['open']} total={r['total']}"
                                                 for r in d["dead_letters"]) or "none"))
        for r in d["recent_runs"]:
            click.echo(f"  run {r['kind']:<9} {r['entity'] or '':<16} {r['status']:<9} {r['started_at']:%H:%M:%S} "
                       f"trace={r['trace_id']}{' error=' + r['error'] if r['error'] else ''}")
    emit(data, as_json, human)


@sync.command()
@INSTANCE_OPTION
@click.option("--interval", type=click.FloatRange(0.05), default=5.0, show_default=True, help="Seconds between cycles.")
@click.option("--reconcile-every", type=click.FloatRange(1), default=600.0, show_default=True, help="Seconds between reconciles.")
@click.option("--reconcile-at-start/--no-reconcile-at-start", default=True, show_default=True,
              help="Reconcile in the first cycle (catch up on deletions made while the worker was down), or only "
                   "after --reconcile-every.")
@click.option("--once", is_flag=True, help="Run one cycle and exit.")
@click.option("--lease", type=click.FloatRange(0.1), default=300.0, show_default=True,
              help="Seconds after which a claimed queue row of a dead worker is claimed again.")
@click.option("--pull-batch-size", type=click.IntRange(1, 100000), help="Records per pull page (default: the adapter's).")
@click.option("--retry-base", type=click.FloatRange(0), default=1.0, show_default=True, help="Base of the queue retry backoff, seconds.")
@click.option("--lookback", type=click.FloatRange(0), default=None,
              help="Seconds re-read before the cursor, for every instance (default: each instance's "
                   "request_limit_seconds: Odoo's longest call, 180 unless set).")
@log_level_option()
@click.option("--metrics-port", type=click.IntRange(1, 65535),
              help="Serve Prometheus metrics on 127.0.0.1:PORT/metrics (docs/observability.md).")
@DB_OPTION
@friendly
def worker(instance, interval, reconcile_every, reconcile_at_start, once, lease, pull_batch_size, retry_base, lookback, log_level,
           metrics_port, database_url):
    """Run pull, process, push and reconcile in a loop until SIGTERM/SIGINT (graceful)."""
    from bridge.sync.worker import Worker
    _setup(given=log_level)
    if metrics_port:
        from bridge.observe import metrics
        metrics.serve(metrics_port)
    url = _need_url(database_url)
    adapters, _ = _adapters()
    w = Worker(url, adapters, settings=settings(), interval=interval, reconcile_every=reconcile_every, instance=instance, lease=lease,
               reconcile_at_start=reconcile_at_start,
               pull_batch_size=pull_batch_size, retry_base=retry_base, lookback=lookback)
    w.install_signals()
    if not w.wait_for_database():  # stopped while waiting
        return
    with db.connect(url) as conn:
        _instances(conn, instance)
    w.run(once=once)


@click.group(cls=GuardedGroup)
def webhooks():
    """Receive Odoo webhook notifications."""


@webhooks.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=8070, show_default=True)
@click.option("--max-body", type=click.IntRange(1), default=256 * 1024, show_default=True, help="Largest body in bytes (413 above).")
@click.option("--hmac-secret-env", default="SPECGEN_WEBHOOK_HMAC_SECRET", show_default=True,
              help="Env var holding the signing proxy's HMAC key.")
@click.option("--read-timeout", type=click.FloatRange(0.1), default=10.0, show_default=True,
              help="Seconds a request may take to arrive whole (headers and body); then 408 and closed.")
@log_level_option()
@DB_OPTION
def serve(host, port, max_body, hmac_secret_env, read_timeout, log_level, database_url):
    """Serve POST /webhooks/odoo/{instance_id}/{token} and GET /health until Ctrl-C/SIGTERM."""
    from bridge.http.receiver import create_app
    url = _need_url(database_url)
    current = _setup(given=log_level)
    app = create_app(url, max_body=max_body, hmac_secret_env=hmac_secret_env, settings=current)
    click.echo(f"webhook receiver on http://{host}:{port}/webhooks/odoo/<instance_id>/<token>", err=True)
    serve_http(app, host, port, "receiver", read_timeout)



__all__ = ["sync", "webhooks"]
