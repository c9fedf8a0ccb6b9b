"""RLS overhead: the same typical query as a signed-in member (policies on) and as service_role (bypass).

Data: app.tasks with 1,000,000 rows across 1,000 orgs (1,000 each), on a throwaway PostgreSQL with the
Supabase stand-in and this repository's migrations. The member belongs to one org as `member`.

    python benchmarks/rls_overhead.py                 # 1,000 orgs x 1,000 tasks, 300 runs per query
    python benchmarks/rls_overhead.py --orgs 100 --per-org 1000 --runs 100

Each line is the ratio of median latencies (member / service_role) for one shape of work:
  same-sql   both run `... where org_id = $org ...`; the member also pays the policy.
  app-style  the member relies on RLS alone (no org filter, as a browser would query); the service role
             filters by org explicitly, as a backend would.
  request    a whole Data API request as PostgREST runs it: a transaction, `set local role`, the JWT
             claims, and the app-style select wrapped in json_agg (the service role: same-sql wrapped).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from generator.database.cluster import URL_ENV, apply_migrations, apply_sql, standin_sql, start_cluster  # noqa: E402
from machine import cpu_model  # noqa: E402

QUERIES = {
    "same-sql": "select id, title, status, priority from app.tasks where org_id = %(org)s and status = 'todo' "
                "order by created_at desc limit 50",
    "app-style": "select id, title, status, priority from app.tasks where status = 'todo' "
                 "order by created_at desc limit 50",
}


def load(conn: psycopg.Connection, orgs: int, per_org: int) -> tuple[uuid.UUID, uuid.UUID]:
    conn.execute("set session_replication_role = replica")  # skip audit/outbox triggers while loading
    conn.execute("""insert into app.orgs (id, name, slug)
                    select gen_random_uuid(), 'Org ' || g, 'org-' || g from generate_series(1, %s) g""", (orgs,))
    conn.execute("""insert into app.projects (org_id, name) select id, 'Main' from app.orgs""")
    conn.execute(f"""insert into app.tasks (org_id, project_id, title, status, priority, created_at)
                     select p.org_id, p.id, 'Task ' || g,
                            (array['todo','in_progress','blocked','done'])[1 + g % 4]::app.task_status,
                            1 + g % 5, now() - (g || ' minutes')::interval
                     from app.projects p, generate_series(1, {per_org}) g""")
    users = conn.execute("""insert into auth.users (id, email)
                            select gen_random_uuid(), 'u' || row_number() over () || '@example.com' from app.orgs
                            returning id""").fetchall()
    conn.execute("""insert into app.memberships (org_id, user_id, role)
                    select o.id, u.id, 'member' from
                      (select id, row_number() over (order by id) n from app.orgs) o
                      join (select id, row_number() over (order by id) n from auth.users) u using (n)""")
    conn.execute("set session_replication_role = origin")
    conn.commit()
    conn.execute("analyze")
    org, user = conn.execute("select org_id, user_id from app.memberships order by org_id limit 1").fetchone()
    return org, user


def timed(conn, role: str, user: uuid.UUID, sql: str, org: uuid.UUID, runs: int) -> tuple[float, int]:
    times, rows = [], 0
    with conn.transaction():
        conn.execute(f"set local role {role}")
        conn.execute("select set_config('request.jwt.claims', %s, true)",
                     (json.dumps({"sub": str(user), "role": role}),))
        for i in range(runs + 10):
            start = time.perf_counter()
            rows = len(conn.execute(sql, {"org": org}, prepare=True).fetchall())
            if i >= 10:  # warm-up runs are not counted
                times.append(time.perf_counter() - start)
    return statistics.median(times), rows


REQUEST = ("select coalesce(json_agg(_t), '[]') from ({query}) _t")


def timed_request(conn, role: str, user: uuid.UUID, sql: str, org: uuid.UUID, runs: int) -> float:
    """One PostgREST-style request per run: its own transaction, role and claims, a json_agg body."""
    claims = json.dumps({"sub": str(user), "role": role})
    body = REQUEST.format(query=sql)
    times = []
    for i in range(runs + 10):
        start = time.perf_counter()
        with conn.transaction():
            conn.execute(f"set local role {role}")
            conn.execute("select set_config('request.jwt.claims', %s, true)", (claims,), prepare=True)
            conn.execute(body, {"org": org}, prepare=True).fetchone()
        if i >= 10:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--per-org", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    cluster = start_cluster(os.environ.get(URL_ENV))
    try:
        name = cluster.create_database()
        url = cluster.url_for(name)
        apply_sql(url, standin_sql())
        apply_migrations(url, ROOT / "supabase/migrations")
        with psycopg.connect(url) as conn:
            started = time.perf_counter()
            org, user = load(conn, args.orgs, args.per_org)
            total = conn.execute("select count(*) from app.tasks").fetchone()[0]
            print(f"machine: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}, "
                  f"PostgreSQL {conn.info.server_version // 10000} ({cluster.kind})")
            print(f"loaded {total:,} tasks across {args.orgs:,} orgs in {time.perf_counter() - started:.1f}s")
            for label, sql in QUERIES.items():
                member, member_rows = timed(conn, "authenticated", user, sql, org, args.runs)
                service_sql = QUERIES["same-sql"]
                service, service_rows = timed(conn, "service_role", user, service_sql, org, args.runs)
                assert member_rows == service_rows, (member_rows, service_rows)
                print(f"{label:>9}: member {member * 1000:.3f} ms, service_role {service * 1000:.3f} ms, "
                      f"ratio {member / service:.2f} ({member_rows} rows)")
            member = timed_request(conn, "authenticated", user, QUERIES["app-style"], org, args.runs)
            service = timed_request(conn, "service_role", user, QUERIES["same-sql"], org, args.runs)
            print(f"{'request':>9}: member {member * 1000:.3f} ms, service_role {service * 1000:.3f} ms, "
                  f"ratio {member / service:.2f}")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
