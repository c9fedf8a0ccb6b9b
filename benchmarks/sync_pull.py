"""Pull throughput: N partners from the mock Odoo into PostgreSQL, end to end, in records/s.

In the same run, for comparison:
- raw search_read: the same keyset pages (write_date, id), same fields, same page size, read with
  the sync's own client (JSON-RPC, decoded), nothing written;
- raw COPY: the same rows COPY'd into a table of the same shape, nothing read from Odoo.

The mock Odoo runs in its own process (like a real Odoo, it does not share our interpreter).

Targets: >= 20,000 records/s end to end, and >= 50% of the slower of the two raw rates.

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

from sync_common import add_instance, machine, migrated_database, mock_process  # noqa: E402

from bridge.contracts import load_adapters
from bridge.db import connect
from bridge.odoo_client import OdooClient
from bridge.pull import ORDER, keyset_domain, pull_entity
from bridge.adapters import parse_odoo_datetime
from bridge.upsert import read_fields


def raw_search_read(client: OdooClient, adapter, page: int) -> tuple[int, float]:
    fields = read_fields(adapter, client)
    t0, n, wd, last = time.perf_counter(), 0, None, 0
    while True:
        rows = client.search_read(adapter.odoo_model, keyset_domain(adapter.domain, wd, last), fields,
                                  limit=page, order=ORDER, context=adapter.read_context())
        if not rows:
            break
        n += len(rows)
        wd, last = parse_odoo_datetime(rows[-1]["write_date"]), rows[-1]["id"]
        if len(rows) < page:
            break
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--partners", type=int, default=100_000)
    ap.add_argument("--page", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    adapters = load_adapters()
    adapter = adapters["partner"]
    cluster, url = migrated_database()
    t_seed = time.perf_counter()
    try:
        with mock_process(args.partners) as odoo:
            seed_s = time.perf_counter() - t_seed
            instance = add_instance(url, odoo)
            client = OdooClient.for_instance(instance)
            rounds = []
            for _ in range(args.rounds):
                with connect(url) as conn:
                    conn.execute("truncate odoo.partners cascade")
                    conn.execute("delete from odoo.sync_cursors")
                    conn.execute("truncate odoo.entity_mappings")
                    conn.execute("drop table if exists copy_bench")
                n_raw, raw_s = raw_search_read(client, adapter, args.page)
                copy_s = raw_copy(url, n_raw, instance["org_id"], instance["id"])
                t0 = time.perf_counter()
                counts = pull_entity(url, instance, adapters, adapter, client, batch_size=args.page)
                pull_s = time.perf_counter() - t0
                rounds.append({"raw_search_read_rps": round(n_raw / raw_s), "raw_copy_rps": round(n_raw / copy_s),
                               "pull_rps": round(counts["read"] / pull_s), "pull_s": round(pull_s, 2),
                               "inserted": counts.get("inserted", 0)})
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
        "bytes_partners_table": size["p"], "bytes_mappings_table": size["m"],
    }
    slower = min(result["median"]["raw_search_read_rps"], result["median"]["raw_copy_rps"])
    result["median_pull_vs_slower_raw"] = round(result["median"]["pull_rps"] / slower, 3)
    result["targets_met_by_median"] = result["median"]["pull_rps"] >= 20_000 and result["median_pull_vs_slower_raw"] >= 0.5
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
