"""Pull throughput: N partners from the mock Odoo into PostgreSQL, end to end, in records/s.

In the same run, for comparison:
- raw search_read: the same keyset pages (write_date, id), same fields, same page size, read with
  the sync's own client (JSON-RPC, decoded), nothing written;
- raw COPY: the same rows COPY'd into a table of the same shape, nothing read from Odoo.

The mock Odoo runs in its own process (like a real Odoo, it does not share our interpreter).

Targets: >= 20,000 records/s end to end, and >= 50% of the slower of the two raw rates.

It also accounts for the CPU each component used (Linux /proc: the mock's process, every process of
the PostgreSQL cluster, this process's threads), in microseconds per record. With C cores, no
pipeline can pull faster than C / (sum of those costs) records/s; and even a sync whose own code
cost nothing could not beat C / (mock + PostgreSQL). Those two bounds are printed per round.

    python benchmarks/sync_pull.py [--partners 100000] [--page 2000] [--rounds 5]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid

from sync_common import (ROOT, add_instance, machine, migrated_database, mock_process, own_cpu,  # noqa: E402
                         postgres_cpu, process_cpu)

from bridge.sync.contracts import load_adapters
from bridge.store.db import connect
from bridge.odoo.client import OdooClient
from bridge.settings import Settings
from bridge.sync import cursor as keyset
from bridge.sync.pull import pull_entity
from bridge.sync.upsert import read_fields


def raw_search_read(client: OdooClient, adapter, page: int) -> tuple[int, float]:
    fields = read_fields(adapter, client)
    t0, n, pos = time.perf_counter(), 0, keyset.Position(None)
    while pos is not None:  # the pull's own cursor (bridge/sync/cursor.py), without the writes
        rows = client.search_read(adapter.odoo_model, pos.domain(adapter.odoo_domain()), fields,
                                  limit=page, order=pos.order, context=adapter.read_context())
        n += len(rows)
        _save, pos = keyset.advance(pos, rows, page)
    return n, time.perf_counter() - t0


def raw_copy(url: str, n: int, org_id, instance_id) -> float:
    with connect(url) as conn:
        conn.execute("create temp table copy_bench (like odoo.partners including defaults)")
        rows = [(str(uuid.uuid4()), org_id, f"Partner {i}", f"p{i}@example.com", "+32 1 23", i % 5 == 0, None,
                 None, "Ghent", True, instance_id, i + 1) for i in range(n)]
        t0 = time.perf_counter()
        with conn.cursor() as cur, cur.copy("copy copy_bench (id, org_id, name, email, phone, is_company, parent_id, "
                                            "vat, city, active, instance_id, odoo_id) from stdin") as cp:
            for r in rows:
                cp.write_row(r)
        conn.commit()
        return time.perf_counter() - t0


CORES = os.cpu_count() or 1


def cpu(cluster, odoo) -> dict:
    time.sleep(0.3)  # let closed connections' backends exit, so their CPU is with the postmaster's reaped children
    return {"mock": process_cpu(odoo.pid) if odoo.pid else None, "postgres": postgres_cpu(cluster), "sync": own_cpu()}


def per_record(a: dict, b: dict, n: int) -> dict:
    """CPU microseconds per record of each component between two snapshots."""
    return {k: (round((b[k] - a[k]) / n * 1e6, 1) if a[k] is not None and b[k] is not None else None) for k in a}


def bounds(us: dict) -> dict:
    """The most records/s that CORES cores could give at these CPU costs, with perfect overlap."""
    if None in us.values():
        return {}
    total = sum(us.values())
    return {"cpu_bound_rps": round(CORES / total * 1e6) if total else None,
            "cpu_bound_if_sync_code_were_free_rps": round(CORES / (us["mock"] + us["postgres"]) * 1e6)
            if us["mock"] + us["postgres"] else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--partners", type=int, default=100_000)
    ap.add_argument("--page", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--odoo-workers", type=int, default=4,
                    help="calls the mock Odoo serves at once (its --workers; 1 serializes them)")
    args = ap.parse_args()
    adapters = load_adapters(ROOT / "generated" / "python")
    adapter = adapters["partner"]
    cluster, url = migrated_database()
    try:
        with mock_process(args.partners, "--workers", str(args.odoo_workers)) as odoo:
            instance = add_instance(url, odoo)
            client = OdooClient.for_instance(instance, Settings.from_environ())
            rounds = []
            for _ in range(args.rounds):
                with connect(url) as conn:
                    conn.execute("truncate odoo.partners cascade")
                    conn.execute("delete from odoo.sync_cursors")
                    conn.execute("truncate odoo.entity_mappings")
                    conn.execute("drop table if exists copy_bench")
                c0 = cpu(cluster, odoo)
                n_raw, raw_s = raw_search_read(client, adapter, args.page)
                c1 = cpu(cluster, odoo)
                copy_s = raw_copy(url, n_raw, instance["org_id"], instance["id"])
                c2 = cpu(cluster, odoo)
                t0 = time.perf_counter()
                counts = pull_entity(url, instance, adapters, adapter, client, batch_size=args.page)
                pull_s = time.perf_counter() - t0
                c3 = cpu(cluster, odoo)
                pull_cpu = per_record(c2, c3, counts["read"])
                rounds.append({"raw_search_read_rps": round(n_raw / raw_s), "raw_copy_rps": round(n_raw / copy_s),
                               "pull_rps": round(counts["read"] / pull_s), "pull_s": round(pull_s, 2),
                               "inserted": counts.get("inserted", 0),
                               "cpu_us_per_record": {
                                   "raw_search_read": per_record(c0, c1, n_raw),
                                   "raw_copy": per_record(c1, c2, n_raw),
                                   "pull": pull_cpu},
                               **bounds(pull_cpu)})
                print(json.dumps(rounds[-1]), file=sys.stderr)
            with connect(url) as conn:
                size = conn.execute("select pg_total_relation_size('odoo.partners') as p, "
                                    "pg_total_relation_size('odoo.entity_mappings') as m").fetchone()
            client.close()
    finally:
        cluster.stop()
    def med(key):
        return statistics.median(r[key] for r in rounds)
    result = {
        "machine": machine(), "partners": n_raw, "page": args.page, "rounds": rounds,
        "mirror_mappings": os.environ.get("SPECGEN_SYNC_MIRROR_MAPPINGS", "0") == "1",
        "median": {k: med(k) for k in ("raw_search_read_rps", "raw_copy_rps", "pull_rps")},
        "best_pull_rps": max(r["pull_rps"] for r in rounds),
        "median_cpu_us_per_record_in_pull": {
            k: statistics.median(r["cpu_us_per_record"]["pull"][k] for r in rounds)
            if all(r["cpu_us_per_record"]["pull"][k] is not None for r in rounds) else None
            for k in ("mock", "postgres", "sync")},
        "bytes_partners_table": size["p"], "bytes_mappings_table": size["m"],
    }
    slower = min(result["median"]["raw_search_read_rps"], result["median"]["raw_copy_rps"])
    result["median_pull_vs_slower_raw"] = round(result["median"]["pull_rps"] / slower, 3)
    result["targets_met_by_median"] = result["median"]["pull_rps"] >= 20_000 and result["median_pull_vs_slower_raw"] >= 0.5
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
