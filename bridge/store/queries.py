"""Read models of the sync's state, shared by the CLI (`sync status`, `sync trace`) and the dashboard.

Every function takes a connection (or a URL) and returns plain dicts/lists, so the same facts show in
the terminal, in JSON and on the web page.
"""
from __future__ import annotations

from bridge.store import db

def status_data(url: str) -> dict:
    with db.connect(url) as conn:
        q = lambda sql: [dict(r) for r in conn.execute(sql).fetchall()]  # noqa: E731
        return {
            "instances": q("select id, name, base_url, active from odoo.instances order by created_at"),
            "cursors": q("select i.name as instance, c.entity, c.last_write_date, c.last_id, c.updated_at "
                         "from odoo.sync_cursors c join odoo.instances i on i.id = c.instance_id order by 1, 2"),
            "outbox": q("select status, count(*) as n, min(created_at) as oldest from odoo.outbox group by status order by 1"),
            "events": q("select status, count(*) as n, min(received_at) as oldest from odoo.webhook_events group by status order by 1"),
            "dead_letters": q("select source, count(*) filter (where replayed_at is null) as open, count(*) as total "
                              "from odoo.dead_letters group by source order by 1"),
            "skipped_instances": skipped_instances(conn),
            "recent_runs": [{k: r[k] for k in ("kind", "entity", "status", "started_at", "finished_at", "counts",
                                               "error", "trace_id")} for r in recent_runs(conn, 10)],
        }


def skipped_instances(conn) -> list[dict]:
    """Active instances a worker skips for a broken configuration (`bridge.sync.worker.record_skip`): the
    latest skip of each, unless a run of that instance has succeeded since (it was fixed)."""
    return [dict(r) for r in conn.execute(
        """select i.id, i.name, s.started_at as since, s.worker,
                  substr(s.error, length('InstanceSkipped: ') + 1) as reason
           from odoo.instances i
           join lateral (select r.started_at, r.error, r.worker from ops.runs r
                          where r.instance_id = i.id and r.entity is null and r.status = 'failed'
                            and r.error like 'InstanceSkipped: %%' order by r.started_at desc limit 1) s on true
           where i.active and not exists (select 1 from ops.runs ok where ok.instance_id = i.id
                                            and ok.status = 'succeeded' and ok.started_at > s.started_at)
           order by i.name""").fetchall()]


TRACE_QUERIES = (
    ("webhook received", """select received_at as at, id, odoo_model, odoo_id, status, attempts,
        processed_at, last_error from odoo.webhook_events where trace_id = %s"""),
    ("app change queued", """select created_at as at, id, entity, local_id, operation, status,
        attempts, last_error from odoo.outbox where trace_id = %s"""),
    ("run", """select started_at as at, id, kind, entity, status, finished_at, counts, error
        from ops.runs where trace_id = %s"""),
    ("step", """select e.at, e.run_id, r.kind, e.level, e.event, e.data from ops.run_events e
        join ops.runs r on r.id = e.run_id where e.trace_id = %s"""),
    ("dead letter", """select created_at as at, id, source, entity, odoo_model, record_ref, reason,
        attempts, replayed_at from odoo.dead_letters where trace_id = %s"""),
)


def trace_story(url: str, trace_id: str) -> list[dict]:
    """Everything the database knows about one trace id, in time order."""
    story = []
    with db.connect(url) as conn:
        for what, sql in TRACE_QUERIES:
            for row in conn.execute(sql, (trace_id,)).fetchall():
                story.append({"what": what, **dict(row)})
    return sorted(story, key=lambda r: (r["at"], r["what"]))


def health(conn) -> list[dict]:
    """ops.sync_health: one row per active instance and mapped entity, with the alert flags."""
    return [dict(r) for r in conn.execute(
        "select * from ops.sync_health order by instance, entity").fetchall()]


def summary(conn) -> dict:
    """Counts for the page header: queues, open dead letters, runs in progress."""
    row = conn.execute("""select
        (select count(*) from odoo.outbox where status in ('pending', 'processing')) as outbox,
        (select count(*) from odoo.webhook_events where status in ('pending', 'processing')) as events,
        (select count(*) from odoo.dead_letters where replayed_at is null) as dead_letters,
        (select count(*) from ops.runs where status = 'running') as running,
        (select count(*) from ops.runs where status = 'failed' and started_at > now() - interval '1 hour')
          as failed_last_hour""").fetchone()
    return dict(row)


RUNS_SQL = """select r.id, r.trace_id, r.kind, i.name as instance, r.entity, r.status, r.started_at, r.finished_at,
                  extract(epoch from coalesce(r.finished_at, now()) - r.started_at) as duration_s,
                  r.counts, r.error, r.worker
           from ops.runs r left join odoo.instances i on i.id = r.instance_id
           where %(status)s::text is null or r.status::text = %(status)s
           order by r.started_at desc, r.id limit %(limit)s"""
# Counts that say what a run looked at, not what it changed: a run with nothing else is a no-op.
LOOKED_AT = {"duration_s", "claimed", "read", "batches", "unchanged", "remote", "local", "locked"}
# How many runs the collapsed list reads at most (a quiet minute of a busy worker is ~100 runs).
COLLAPSE_SCAN = 3000


def is_noop(run: dict) -> bool:
    """A run that succeeded and changed nothing: a pull that found no news, a push with nothing queued."""
    return run["status"] == "succeeded" and not any(v for k, v in (run["counts"] or {}).items() if k not in LOOKED_AT)


def recent_runs(conn, limit: int = 50, status: str | None = None, collapse: bool = False) -> list[dict]:
    """The latest runs (optionally only those with this status), newest first.

    With ``collapse``, consecutive no-op runs of one (kind, instance, entity), with none of its runs
    that did something between them, are one entry: the newest run, with ``runs`` (how many) and
    ``first_started_at`` (the span starts there). Every entry has both keys."""
    if not collapse:
        rows = conn.execute(RUNS_SQL, {"status": status, "limit": limit}).fetchall()
        return [{**dict(r), "runs": 1, "first_started_at": r["started_at"], "noop": is_noop(r)} for r in rows]
    out: list[dict] = []
    streak: dict = {}  # (kind, instance, entity) -> its open entry of no-op runs
    for r in conn.execute(RUNS_SQL, {"status": status, "limit": max(limit * 20, COLLAPSE_SCAN)}).fetchall():
        key, noop = (r["kind"], r["instance"], r["entity"]), is_noop(r)
        entry = streak.get(key)
        if noop and entry is not None:  # newest first: this run is older than the entry's
            entry["runs"] += 1
            entry["first_started_at"] = r["started_at"]
            continue
        if len(out) >= limit:
            break
        entry = {**dict(r), "runs": 1, "first_started_at": r["started_at"], "noop": noop}
        out.append(entry)
        streak[key] = entry if noop else None
    return out


LATENCY_SERIES = {
    # name -> (SQL yielding (at, seconds) pairs in the window, label)
    "event_to_row": ("""select processed_at as at, extract(epoch from processed_at - received_at) as s
                        from odoo.webhook_events where processed_at > now() - make_interval(hours => %s)""",
                     "webhook event to row"),
    "pull_run": ("""select finished_at as at, extract(epoch from finished_at - started_at) as s from ops.runs
                    where kind = 'pull' and status = 'succeeded' and finished_at > now() - make_interval(hours => %s)""",
                 "pull run duration"),
    "push_run": ("""select finished_at as at, extract(epoch from finished_at - started_at) as s from ops.runs
                    where kind = 'push' and status = 'succeeded' and finished_at > now() - make_interval(hours => %s)""",
                 "push run duration"),
}


def latency(conn, hours: int = 6, buckets: int = 24) -> dict:
    """p50/p95/p99 per time bucket over the last `hours`, for each series in LATENCY_SERIES."""
    width = max(60, hours * 3600 // buckets)
    out = {}
    for name, (sql, label) in LATENCY_SERIES.items():
        rows = conn.execute(f"""
            with x as ({sql})
            select to_timestamp(floor(extract(epoch from at) / %s) * %s) as bucket, count(*) as n,
                   percentile_cont(0.5) within group (order by s) as p50,
                   percentile_cont(0.95) within group (order by s) as p95,
                   percentile_cont(0.99) within group (order by s) as p99
            from x group by 1 order by 1""", (hours, width, width)).fetchall()
        overall = conn.execute(f"""
            with x as ({sql})
            select count(*) as n, percentile_cont(0.5) within group (order by s) as p50,
                   percentile_cont(0.95) within group (order by s) as p95,
                   percentile_cont(0.99) within group (order by s) as p99 from x""", (hours,)).fetchone()
        out[name] = {"label": label, "bucket_seconds": width, "points": [dict(r) for r in rows],
                     "overall": dict(overall)}
    return out


DEAD_LETTER_STATES = {"open": "replayed_at is null", "replayed": "replayed_at is not null", "all": "true"}


def dead_letters(conn, *, state: str = "open", source: str | None = None, entity: str | None = None,
                 limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """A page of dead letters (newest first) and how many match in all."""
    where, params = [DEAD_LETTER_STATES.get(state, DEAD_LETTER_STATES["open"])], []
    if source:
        where.append("d.source::text = %s")
        params.append(source)
    if entity:
        where.append("d.entity = %s")
        params.append(entity)
    cond = " and ".join(where)
    total = conn.execute(f"select count(*) as n from odoo.dead_letters d where {cond}", params).fetchone()["n"]
    rows = conn.execute(
        f"""select d.id, d.source, i.name as instance, d.entity, d.odoo_model, d.record_ref, d.reason, d.error_class,
                   d.attempts, d.replayed_at, d.trace_id, d.created_at
            from odoo.dead_letters d left join odoo.instances i on i.id = d.instance_id
            where {cond} order by d.created_at desc, d.id desc limit %s offset %s""",
        [*params, limit, offset]).fetchall()
    return [dict(r) for r in rows], total


def dead_letter(conn, letter_id: int) -> dict | None:
    row = conn.execute("""select d.*, i.name as instance from odoo.dead_letters d
                          left join odoo.instances i on i.id = d.instance_id where d.id = %s""", (letter_id,)).fetchone()
    return dict(row) if row else None


METRIC_QUEUES = {
    "outbox": "select instance_id, count(*) as n from odoo.outbox where status in ('pending', 'processing') group by 1",
    "webhook_events": "select instance_id, count(*) as n from odoo.webhook_events "
                      "where status in ('pending', 'processing') group by 1",
    "dead_letters": "select instance_id, count(*) as n from odoo.dead_letters where replayed_at is null group by 1",
}


def metric_facts(conn) -> dict:
    """What the worker's gauges show (bridge.observe.metrics.update): queue depths per instance, cursors
    with their Odoo head, and the waiting outbox per entity."""
    return {
        "queues": {queue: conn.execute(sql).fetchall() for queue, sql in METRIC_QUEUES.items()},
        "cursors": conn.execute("select instance_id, entity, last_write_date, odoo_head_write_date "
                                "from odoo.sync_cursors where last_write_date is not null").fetchall(),
        "outbox": conn.execute("select instance_id, entity, min(created_at) as oldest, max(attempts) as attempts "
                               "from odoo.outbox where status in ('pending', 'processing') group by 1, 2").fetchall(),
    }
