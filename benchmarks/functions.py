"""The Edge Functions beside the Python runtime, in one run, on one PostgreSQL and one mock Odoo.

1. Receiver: the Python receiver (`webhooks serve`, uvicorn, its own process) and the webhook-receiver
   function (plain Deno, its own process) each get N events from C keep-alive connections (the load
   generator of benchmarks/sync_webhooks.py), rounds interleaved; accepted events/s and p50/p99 of
   request latency. Targets for the function: >= 1,000 events/s, p99 <= 50 ms.
2. Pull: P partners from the mock Odoo (its own process) into an empty mirror (odoo.partners), by the
   Python pull (`pull_entity`, the worker's code) and by sync-from-odoo (invoked again and again until it
   answers that the partners are done, as pg_cron would, each invocation with the default budget, asked
   for the partner entity only), rounds interleaved; records/s end to end, and the CPU seconds of the
   Deno process per 1,000 records (what Supabase's 2 s of CPU per request bounds). Target: the function at
   least half the Python pull's rate.

The functions are the ones `specgen build` wrote for this repository's spec (supabase/functions/).

    python benchmarks/functions.py [--events 20000] [--concurrency 32] [--partners 100000] [--rounds 3]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import time

from sync_common import (ROOT, TOKEN, add_instance, machine, migrated_database, mock_process,  # noqa: E402
                         percentile, process_cpu)
from sync_webhooks import blast, start_receiver  # noqa: E402

import httpx  # noqa: E402

from bridge.http.serve import free_port  # noqa: E402
from bridge.odoo.client import OdooClient  # noqa: E402
from bridge.settings import Settings  # noqa: E402
from bridge.store.db import connect  # noqa: E402
from bridge.sync.contracts import load_adapters  # noqa: E402
from bridge.sync.pull import pull_entity  # noqa: E402
from tests.functions.support import db_env, deno, serve  # noqa: E402

FUNCTIONS = ROOT / "supabase" / "functions"
FUNCTION_TOKEN = secrets.token_hex(16)
PAGE = 2000


def receive_round(url: str, port: int, path: str, events: int, concurrency: int) -> dict:
    asyncio.run(blast(port, path, 200, 8))  # warm up (connections, the JIT, the statement cache)
    with connect(url) as conn:
        conn.execute("delete from odoo.webhook_events")
    t0 = time.perf_counter()
    latencies, statuses = asyncio.run(blast(port, path, events, concurrency))
    elapsed = time.perf_counter() - t0
    with connect(url) as conn:
        stored = conn.execute("select count(*) as n from odoo.webhook_events").fetchone()["n"]
        conn.execute("delete from odoo.webhook_events")
    return {"accepted_per_s": round(statuses.get(202, 0) / elapsed), "statuses": statuses, "stored": stored,
            "p50_ms": round(percentile(latencies, 50) * 1000, 1), "p99_ms": round(percentile(latencies, 99) * 1000, 1)}


def empty_mirrors(url: str, adapters: dict) -> None:
    with connect(url) as conn:
        for a in adapters.values():
            conn.execute(f"truncate {a.schema}.{a.table} cascade")
        conn.execute("delete from odoo.sync_cursors")
        conn.execute("truncate odoo.entity_mappings")


def python_pull(url: str, instance: dict, adapters: dict) -> tuple[int, float]:
    client = OdooClient.for_instance(instance, Settings.from_environ())
    try:
        t0 = time.perf_counter()
        read = pull_entity(url, instance, adapters, adapters["partner"], client, batch_size=PAGE)["read"]
        return read, time.perf_counter() - t0
    finally:
        client.close()


def function_pull(function_url: str, instance: dict) -> tuple[int, float, int]:
    """(records read, seconds, invocations) until sync-from-odoo says the partners are done."""
    read = invocations = 0
    t0 = time.perf_counter()
    with httpx.Client(timeout=600) as http:
        while True:
            invocations += 1
            answer = http.post(function_url, headers={"x-specgen-function-token": FUNCTION_TOKEN},
                               json={"instance_id": str(instance["id"]), "entity": "partner", "batch_size": PAGE})
            answer.raise_for_status()
            body = answer.json()
            entities = [e for i in body["instances"] for e in i["entities"]]
            if any(e["status"] in ("failed", "locked") for e in entities):
                raise RuntimeError(f"sync-from-odoo: {body}")
            read += sum(e.get("read", 0) for e in entities)
            if all(e["status"] == "done" for e in entities):
                return read, time.perf_counter() - t0, invocations


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--partners", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skip-pull", action="store_true")
    args = ap.parse_args()
    cluster, url = migrated_database()
    served = []
    try:
        with mock_process(args.partners, "--workers", "4") as odoo:
            instance = add_instance(url, odoo)
            env = {**db_env(url), "SPECGEN_FUNCTION_TOKEN": FUNCTION_TOKEN, "SPECGEN_LOG_LEVEL": "warning",
                   "SPECGEN_BENCH_ODOO_PASSWORD": odoo.password}
            receiver_fn = serve("webhook-receiver", env, functions=FUNCTIONS)
            served.append(receiver_fn)
            port = free_port()
            python_receiver = start_receiver(url, port)
            path = f"/webhooks/odoo/{instance['id']}/{TOKEN}"
            fn_port = int(receiver_fn.url.rsplit(":", 1)[1])
            receiving: dict[str, list[dict]] = {"python": [], "function": []}
            try:
                for _ in range(args.rounds):
                    for name, p in (("python", port), ("function", fn_port)):
                        receiving[name].append(receive_round(url, p, path, args.events, args.concurrency))
                        print(json.dumps({"receiver": name, **receiving[name][-1]}), file=sys.stderr)
            finally:
                python_receiver.terminate()
                python_receiver.wait(10)
            pulling: dict[str, list[dict]] = {"python": [], "function": []}
            if not args.skip_pull:
                puller = serve("sync-from-odoo", env, functions=FUNCTIONS)
                served.append(puller)
                adapters = load_adapters(ROOT / "generated" / "python")
                for _ in range(args.rounds):
                    empty_mirrors(url, adapters)
                    n, s = python_pull(url, instance, adapters)
                    pulling["python"].append({"read": n, "seconds": round(s, 2), "rps": round(n / s)})
                    print(json.dumps({"pull": "python", **pulling["python"][-1]}), file=sys.stderr)
                    empty_mirrors(url, adapters)
                    cpu0 = process_cpu(puller.process.pid)
                    n, s, calls = function_pull(puller.url, instance)
                    cpu_ms = (process_cpu(puller.process.pid) - cpu0) * 1000
                    pulling["function"].append({"read": n, "seconds": round(s, 2), "rps": round(n / s),
                                                "invocations": calls,
                                                "cpu_ms_per_1000_records": round(cpu_ms / max(n, 1) * 1000, 1)})
                    print(json.dumps({"pull": "function", **pulling["function"][-1]}), file=sys.stderr)
    finally:
        for s in served:
            s.stop()
        cluster.stop()

    def median(rows: list[dict], key: str):
        return statistics.median(r[key] for r in rows) if rows else None

    deno_version = __import__("subprocess").run([deno(), "--version"], capture_output=True, text=True).stdout
    result = {
        "machine": {**machine(), "deno": deno_version.split("\n", 1)[0]},
        "events": args.events, "concurrency": args.concurrency, "rounds": args.rounds,
        "receiver": {name: {"rounds": rows, "median_accepted_per_s": median(rows, "accepted_per_s"),
                            "median_p99_ms": median(rows, "p99_ms")} for name, rows in receiving.items()},
        "pull": {name: {"rounds": rows, "median_rps": median(rows, "rps")} for name, rows in pulling.items()},
        "partners": args.partners,
    }
    fn = result["receiver"]["function"]
    met = {"receiver_events_per_s": fn["median_accepted_per_s"] >= 1000, "receiver_p99": fn["median_p99_ms"] <= 50}
    if pulling["function"]:
        ratio = result["pull"]["function"]["median_rps"] / result["pull"]["python"]["median_rps"]
        result["pull"]["function_vs_python"] = round(ratio, 3)
        met["pull_at_least_half"] = ratio >= 0.5
    result["targets_met"] = met
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
