"""Webhook receiver: accepted events/s and latency, then event-to-row latency through the processor.

1. Throughput: the receiver (``webhooks serve``, its own process, uvicorn) gets N events from C
   concurrent keep-alive connections (a minimal asyncio HTTP/1.1 client, so the load generator is not
   the bottleneck); reports accepted/s and the p50/p99 of request latency. Targets: >= 2,000/s, p99 <= 50 ms.
2. Event-to-row: partners are edited in the mock Odoo (own process) at a steady rate with its webhook
   pointed at the receiver, while a processor loop runs; for each event, processed_at - received_at
   (both PostgreSQL clocks; the row is written in the same transaction as processed_at). Target p99 <= 1 s.

    python benchmarks/sync_webhooks.py [--events 20000] [--concurrency 32] [--rate 100] [--seconds 10]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time

from sync_common import ROOT, TOKEN, add_instance, machine, migrated_database, mock_process, percentile  # noqa: E402

from bridge.sync.contracts import load_adapters
from bridge.store.db import connect
from bridge.odoo.client import OdooClient
from bridge.sync.processor import Processor
from bridge.sync.pull import pull_entity
from bridge.http.serve import free_port
from bridge.settings import Settings
from bridge.sync.worker import ClientCache


def start_receiver(url: str, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", "from bridge.cli.sync import webhooks; webhooks()", "serve",
                             "--port", str(port), "--database-url", url, "--log-level", "warning"],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("receiver did not start")


async def blast(port: int, path: str, n: int, concurrency: int) -> tuple[list[float], dict]:
    latencies: list[float] = []
    statuses: dict = {}
    counter = iter(range(n))

    async def conn_loop():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for i in counter:
            body = json.dumps({"_action": "Send Webhook Notification(#2)", "_id": i + 1, "_model": "res.partner",
                               "id": i + 1, "name": f"Partner {i}", "write_date": "2024-05-01 10:00:00"}).encode()
            req = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode() + body
            t0 = time.perf_counter()
            writer.write(req)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = int([h.split(b":", 1)[1] for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    await asyncio.gather(*(conn_loop() for _ in range(concurrency)))
    return latencies, statuses


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rate", type=float, default=100.0, help="Odoo edits per second in the latency phase")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--odoo-workers", type=int, default=4,
                    help="calls the mock Odoo serves at once (its --workers; 1 serializes them)")
    return ap.parse_args()


def throughput(url: str, port: int, path: str, args) -> tuple[list[float], dict, float, int, int]:
    """Phase 1: (request latencies, statuses, elapsed seconds, events stored, their bytes); then empties
    odoo.webhook_events for phase 2."""
    asyncio.run(blast(port, path, 200, 8))  # warm up
    t0 = time.perf_counter()
    latencies, statuses = asyncio.run(blast(port, path, args.events, args.concurrency))
    elapsed = time.perf_counter() - t0
    with connect(url) as conn:
        stored = conn.execute("select count(*) as n from odoo.webhook_events").fetchone()["n"]
        events_bytes = conn.execute("select pg_total_relation_size('odoo.webhook_events') as b").fetchone()["b"]
        conn.execute("delete from odoo.webhook_events")
    return latencies, statuses, elapsed, stored, events_bytes


def event_to_row(url: str, odoo, instance: dict, port: int, path: str, args) -> tuple[int, list[float]]:
    """Phase 2: (edits made in Odoo, processed_at - received_at of each processed event, in seconds)."""
    adapters = load_adapters(ROOT / "generated" / "python")
    clients = ClientCache(Settings.from_environ())
    pull_entity(url, instance, adapters, adapters["partner"], clients(instance))
    editor = OdooClient(odoo.url, "odoo", "admin", "admin")
    editor.execute_kw("ir.model", "search", [[]])  # login
    import httpx
    httpx.post(f"{odoo.url}/mock/webhooks", json={"urls": [f"http://127.0.0.1:{port}{path}"],
                                                  "models": ["res.partner"]})
    stop = threading.Event()
    proc = Processor(url, adapters, clients, retry_base=0.05)

    def process_loop():
        while not stop.is_set():
            if not proc.run_once(limit=500).get("claimed"):
                stop.wait(0.02)
    th = threading.Thread(target=process_loop, daemon=True)
    th.start()
    ids = editor.search("res.partner", [], limit=400)
    n_edits = int(args.rate * args.seconds)
    start = time.perf_counter()
    for k in range(n_edits):
        editor.write("res.partner", [ids[k % len(ids)]], {"city": f"Edit {k}"})
        delay = start + (k + 1) / args.rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with connect(url) as conn:
            row = conn.execute("select count(*) filter (where status = 'done') as done, count(*) as n "
                               "from odoo.webhook_events").fetchone()
        if row["n"] >= n_edits and row["done"] == row["n"]:
            break
        time.sleep(0.2)
    stop.set()
    th.join(10)
    with connect(url) as conn:
        lat = [r["s"] for r in conn.execute(
            "select extract(epoch from processed_at - received_at)::float8 as s from odoo.webhook_events "
            "where status = 'done'").fetchall()]
    editor.close()
    clients.close()
    return n_edits, lat


def main() -> None:
    args = parse_args()
    cluster, url = migrated_database()
    port = free_port()
    receiver = None
    try:
        with mock_process(500, "--workers", str(args.odoo_workers)) as odoo:
            instance = add_instance(url, odoo)
            receiver = start_receiver(url, port)
            path = f"/webhooks/odoo/{instance['id']}/{TOKEN}"
            latencies, statuses, elapsed, stored, events_bytes = throughput(url, port, path, args)

            # -- event-to-row ---------------------------------------------------------------------
            n_edits, lat = event_to_row(url, odoo, instance, port, path, args)
    finally:
        if receiver is not None:
            receiver.terminate()
            receiver.wait(10)
        cluster.stop()
    result = {
        "machine": machine(), "events": args.events, "concurrency": args.concurrency,
        "accepted_per_s": round(statuses.get(202, 0) / elapsed), "statuses": statuses, "stored": stored, "bytes_per_event": round(events_bytes / max(stored, 1)),
        "latency_ms_p50": round(percentile(latencies, 50) * 1000, 1),
        "latency_ms_p99": round(percentile(latencies, 99) * 1000, 1),
        "event_to_row": {"edits": n_edits, "events_processed": len(lat), "rate_per_s": args.rate,
                         "p50_ms": round(percentile(lat, 50) * 1000, 1), "p99_ms": round(percentile(lat, 99) * 1000, 1),
                         "max_ms": round(max(lat) * 1000, 1) if lat else None},
    }
    result["targets_met"] = (result["accepted_per_s"] >= 2000 and result["latency_ms_p99"] <= 50
                             and result["event_to_row"]["p99_ms"] <= 1000)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
