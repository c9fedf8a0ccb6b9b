"""Throughput of the mock Odoo server: search_read pages of 1,000 records over JSON-RPC.

Starts a real uvicorn server (MockOdooServer, 127.0.0.1, free port) seeded with
--demo N partners, then pages through every active partner with
``search_read(domain, fields, offset, limit=1000, order="id")`` over /jsonrpc
using httpx (one keep-alive connection, JSON decoded by the client), several
rounds, and reports records/s. The target is >= 50,000 records/s.

    python benchmarks/mock_odoo_search_read.py [--partners 50000] [--rounds 5]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mock_odoo.server import MockOdooServer  # noqa: E402
from machine import cpu_model  # noqa: E402

FIELDS = ["name", "email", "phone", "is_company", "parent_id", "company_id", "country_id",
          "street", "city", "zip", "vat", "active", "create_date", "write_date"]


def run(partners: int, rounds: int, page: int) -> dict:
    started = time.perf_counter()
    server = MockOdooServer(demo=partners).start()
    seeded = time.perf_counter() - started
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            def call(method, args, kwargs, n=[0]):
                n[0] += 1
                body = {"jsonrpc": "2.0", "method": "call", "id": n[0], "params": {
                    "service": "object", "method": "execute_kw",
                    "args": ["odoo", 2, "admin", "res.partner", method, args, kwargs]}}
                reply = client.post("/jsonrpc", json=body).json()
                if "error" in reply:
                    raise RuntimeError(reply["error"]["data"]["message"])
                return reply["result"]

            total = call("search_count", [[]], {})
            timings = []
            for _ in range(rounds):
                got, t0 = 0, time.perf_counter()
                offset = 0
                while True:
                    rows = call("search_read", [[]], {"fields": FIELDS, "offset": offset, "limit": page,
                                                      "order": "id"})
                    got += len(rows)
                    offset += page
                    if len(rows) < page:
                        break
                timings.append((got, time.perf_counter() - t0))
    finally:
        server.stop()
    rates = [got / secs for got, secs in timings]
    return {"records": total, "seed_seconds": seeded, "rounds": timings,
            "best": max(rates), "median": sorted(rates)[len(rates) // 2]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--page", type=int, default=1000)
    args = parser.parse_args()
    result = run(args.partners, args.rounds, args.page)
    print(f"machine: nproc={os.cpu_count()} cpu={cpu_model()!r} python={platform.python_version()}")
    print(f"seeded {args.partners} demo partners in {result['seed_seconds']:.1f}s; "
          f"{result['records']} active partners, pages of {args.page}, {len(FIELDS)} fields")
    for got, secs in result["rounds"]:
        print(f"  round: {got} records in {secs:.3f}s = {got / secs:,.0f} records/s")
    print(f"median {result['median']:,.0f} records/s, best {result['best']:,.0f} records/s "
          f"({'meets' if result['median'] >= 50_000 else 'BELOW'} the 50,000 records/s target)")


if __name__ == "__main__":
    main()
