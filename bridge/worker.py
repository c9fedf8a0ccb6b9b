"""The long-running sync loop: pull, push, process events, reconcile, for every active instance.

Workers coordinate only through PostgreSQL (advisory locks for pulls, SKIP LOCKED for queues), so any
number of them may run on any number of machines. SIGTERM/SIGINT finish the current step and exit.
"""
from __future__ import annotations

import logging
import signal
import threading
import time

from bridge import db, jsonlog, metrics
from bridge.contracts import pull_order
from bridge.odoo_client import OdooClient, OdooError
from bridge.processor import Processor
from bridge.pull import pull_entity, reconcile_entity
from bridge.push import Pusher
from bridge.reaper import reap_lost_runs

log = jsonlog.get("worker")


class ClientCache:
    """One Odoo client per instance, reused across runs (session and keep-alive reuse)."""

    def __init__(self, **client_kw):
        self.client_kw = client_kw
        self._clients: dict[str, OdooClient] = {}

    def __call__(self, instance: dict) -> OdooClient:
        key = str(instance["id"])
        if key not in self._clients:
            self._clients[key] = OdooClient.for_instance(instance, **self.client_kw)
        return self._clients[key]

    def close(self) -> None:
        for c in self._clients.values():
            c.close()
        self._clients.clear()


class Worker:
    def __init__(self, url: str, adapters: dict, *, interval: float = 5.0, reconcile_every: float = 600.0,
                 batch_limit: int = 200, client_kw: dict | None = None, max_attempts: int = 8,
                 retry_base: float = 1.0, instance: str | None = None, pull_batch_size: int | None = None,
                 lease: float = 300.0, lookback: float = 120.0):
        import datetime as dt
        self.url, self.adapters, self.interval = url, adapters, interval
        self.reconcile_every, self.batch_limit, self.instance = reconcile_every, batch_limit, instance
        self.clients = ClientCache(**(client_kw or {}))
        self.pull_batch_size = pull_batch_size
        self.lookback = dt.timedelta(seconds=lookback)
        lease_td = dt.timedelta(seconds=lease)
        self.pusher = Pusher(url, adapters, self.clients, max_attempts=max_attempts, retry_base=retry_base, lease=lease_td)
        self.processor = Processor(url, adapters, self.clients, max_attempts=max_attempts, retry_base=retry_base,
                                   lease=lease_td)
        self.lease = lease
        self.stop_event = threading.Event()
        self._last_reconcile: dict[str, float] = {}
        self.cycles = 0

    def install_signals(self) -> None:
        def handler(signum, frame):
            jsonlog.log(log, logging.INFO, "shutdown requested", signal=signal.Signals(signum).name)
            self.stop_event.set()
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def _instances(self) -> list[dict]:
        with db.connect(self.url) as conn:
            return db.instances(conn, self.instance)

    def cycle(self) -> dict:
        """One pass over every instance. Errors of one step are logged and do not stop the others."""
        totals: dict = {}

        def step(name, fn):
            if self.stop_event.is_set():
                return
            try:
                for k, v in (fn() or {}).items():
                    if isinstance(v, (int, float)):
                        totals[f"{name}.{k}"] = totals.get(f"{name}.{k}", 0) + v
            except (OdooError, OSError, Exception) as exc:  # noqa: BLE001 - the loop must survive
                totals[f"{name}.errors"] = totals.get(f"{name}.errors", 0) + 1
                jsonlog.log(log, logging.ERROR, f"{name} failed", error=f"{type(exc).__name__}: {exc}")

        step("reap", lambda: {"lost_runs": len(reap_lost_runs(self.url, lease_s=self.lease,
                                                              grace_s=min(60.0, self.lease)))})
        for inst in self._instances():
            client = self.clients(inst)
            for adapter in pull_order(self.adapters):
                step("pull", lambda a=adapter: pull_entity(self.url, inst, self.adapters, a, client,
                                                                  batch_size=self.pull_batch_size,
                                                                  should_stop=self.stop_event.is_set,
                                                                  lookback=self.lookback))
            step("process", lambda: self.processor.run_once(limit=self.batch_limit, instance_id=inst["id"]))
            step("push", lambda: self.pusher.run_once(limit=self.batch_limit, instance_id=inst["id"]))
            key = str(inst["id"])
            if time.monotonic() - self._last_reconcile.get(key, -1e18) >= self.reconcile_every:
                for adapter in pull_order(self.adapters):
                    step("reconcile", lambda a=adapter: reconcile_entity(self.url, inst, self.adapters, a, client))
                self._last_reconcile[key] = time.monotonic()
        step("metrics", self._update_metrics)
        self.cycles += 1
        return totals

    def _update_metrics(self) -> None:
        with db.connect(self.url) as conn:
            metrics.update_from_db(conn)

    def run(self, once: bool = False, max_cycles: int | None = None) -> None:
        jsonlog.log(log, logging.INFO, "worker started", interval_s=self.interval)
        try:
            while not self.stop_event.is_set():
                self.cycle()
                if once or (max_cycles is not None and self.cycles >= max_cycles):
                    break
                self.stop_event.wait(self.interval)
        finally:
            self.clients.close()
            jsonlog.log(log, logging.INFO, "worker stopped", cycles=self.cycles)
