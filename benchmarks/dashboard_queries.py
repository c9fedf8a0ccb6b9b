"""How long the dashboard's queries take on a week of sync history.

Seeds a migrated throwaway PostgreSQL with RUNS ops.runs rows (default 1,000,000: a worker polling
every 5 s writes ~140,000 runs/day per instance, so ~1 week) and EVENTS processed webhook events
(default 300,000), then times each read model the overview page uses (second of two runs, so the
cache is warm, as it is for a page that refreshes every 30 s).

    python benchmarks/dashboard_queries.py [--runs 1000000] [--events 300000]
"""
from __future__ import annotations

import argparse
import json
import time

from sync_common import machine, migrated_database  # noqa: E402

from bridge.store import queries
from bridge.store.db import connect


def seed(conn, runs: int, events: int) -> None:
    org = conn.execute("insert into app.orgs (name, slug) values ('Bench', 'bench') returning id").fetchone()["id"]
    inst = conn.execute("""insert into odoo.instances (org_id, name, base_url, database, login, secret_ref)
                           values (%s, 'bench', 'http://127.0.0.1:9', 'odoo', 'bot', 'BENCH') returning id""",
                        (org,)).fetchone()["id"]
    span = 7 * 86400
    conn.execute("""
        insert into ops.runs (trace_id, kind, instance_id, entity, status, started_at, finished_at, counts)
        select md5(g::text),
               (array['pull','pull','pull','pull','pull','pull','process','push'])[1 + g %% 8]::ops.run_kind, %(i)s,
               (array['partner','product','sale_order','sale_order_line','invoice','contact',null,null])[1 + g %% 8],
               (case when g %% 97 = 0 then 'failed' else 'succeeded' end)::ops.run_status,
               now() - make_interval(secs => (%(n)s - g) * %(step)s),
               now() - make_interval(secs => (%(n)s - g) * %(step)s - 0.05), '{}'
        from generate_series(1, %(n)s) g""", {"i": inst, "n": runs, "step": span / runs})
    conn.execute("""
        insert into odoo.webhook_events (instance_id, idempotency_key, odoo_model, odoo_id, payload, status,
                                         received_at, processed_at, trace_id)
        select %(i)s, 'k' || g, 'res.partner', g, '{}', 'done', now() - make_interval(secs => (%(n)s - g) * %(step)s),
               now() - make_interval(secs => (%(n)s - g) * %(step)s - 0.1), md5(g::text)
        from generate_series(1, %(n)s) g""", {"i": inst, "n": events, "step": span / events})
    conn.commit()
    conn.execute("analyze")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1_000_000)
    ap.add_argument("--events", type=int, default=300_000)
    args = ap.parse_args()
    cluster, url = migrated_database()
    out = {"machine": machine(), "runs": args.runs, "events": args.events, "ms": {}}
    try:
        with connect(url) as conn:
            seed(conn, args.runs, args.events)
            timed = {
                "ops.sync_health (health table)": lambda: queries.health(conn),
                "summary (header counts)": lambda: queries.summary(conn),
                "recent runs (30)": lambda: queries.recent_runs(conn, 30),
                "recent failures (10)": lambda: queries.recent_runs(conn, 10, "failed"),
                "latency, 6 h (page default)": lambda: queries.latency(conn, 6),
                "latency, 48 h (the longest window offered)": lambda: queries.latency(conn, 48),
                "latency, 168 h (not offered)": lambda: queries.latency(conn, 168),
                "dead letters (5)": lambda: queries.dead_letters(conn, limit=5),
            }
            for name, fn in timed.items():
                fn()
                t0 = time.perf_counter()
                fn()
                out["ms"][name] = round((time.perf_counter() - t0) * 1000)
    finally:
        cluster.stop()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
