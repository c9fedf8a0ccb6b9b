"""Push throughput: N contacts inserted in the app, pushed to the mock Odoo (own process), records/s.

Each record is one create call in Odoo (plus a search by external reference, the idempotency check),
then the mapping, the row link and the outbox acknowledgement in one transaction. Also measures
updates (write) of the same records. ``--workers`` runs that many pushers in parallel threads.

    python benchmarks/sync_push.py [--records 2000] [--workers 1]
"""
from __future__ import annotations

import argparse
import json
import threading
import time

from sync_common import ROOT, add_instance, machine, migrated_database, mock_process  # noqa: E402

from bridge.sync.contracts import load_adapters
from bridge.store.db import connect
from bridge.sync.push import Pusher
from bridge.settings import Settings
from bridge.sync.worker import ClientCache


def drain(url, adapters, workers: int) -> float:
    def loop():
        clients = ClientCache(Settings.from_environ())
        pusher = Pusher(url, adapters, clients, retry_base=0.0)
        while pusher.run_once(limit=100).get("claimed"):
            pass
        clients.close()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=loop) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--odoo-workers", type=int, default=4,
                    help="calls the mock Odoo serves at once (its --workers; 1 serializes them)")
    args = ap.parse_args()
    adapters = load_adapters(ROOT / "generated" / "python")
    cluster, url = migrated_database()
    try:
        with mock_process(0, "--workers", str(args.odoo_workers)) as odoo:
            instance = add_instance(url, odoo)
            with connect(url) as conn:
                conn.execute("insert into app.contacts (org_id, full_name, email) select %s, 'Push ' || g, "
                             "'push' || g || '@example.com' from generate_series(1, %s) g",
                             (instance["org_id"], args.records))
            create_s = drain(url, adapters, args.workers)
            with connect(url) as conn:
                conn.execute("update app.contacts set phone = '+32 ' || left(md5(id::text), 8)")
            write_s = drain(url, adapters, args.workers)
            with connect(url) as conn:
                done = conn.execute("select count(*) filter (where status='done') as done, count(*) as n "
                                    "from odoo.outbox").fetchone()
                sizes = conn.execute("select pg_total_relation_size('odoo.outbox') as outbox, "
                                     "pg_total_relation_size('odoo.entity_mappings') as mappings").fetchone()
    finally:
        cluster.stop()
    print(json.dumps({"machine": machine(), "records": args.records, "workers": args.workers, "odoo_workers": args.odoo_workers,
                      "create_per_s": round(args.records / create_s), "write_per_s": round(args.records / write_s),
                      "outbox": done, "bytes_per_outbox_row": round(sizes["outbox"] / max(done["n"], 1)),
                      "bytes_per_mapping": round(sizes["mappings"] / args.records)}, indent=2))


if __name__ == "__main__":
    main()
