"""Odoo 17 "Send Webhook Notification" automation rules, sent from a background thread.

Like Odoo: one POST per record, body ``{"_action": "Send Webhook Notification(#N)",
"_id": id, "_model": model, ...fields read with load=None}``, only a
``Content-Type: application/json`` header, 1 second timeout, failures logged and
never retried. ``drop`` discards that fraction of notifications (seeded) to
simulate loss. The RPC path only enqueues; it never waits for delivery.
"""
from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
from collections import deque

import httpx

log = logging.getLogger("mock_odoo.webhooks")
# server action ids for the automation rules, one per trigger
ACTION_IDS = {"create": 1, "write": 2, "unlink": 3}


class WebhookSender:
    def __init__(self, urls=(), models=None, drop: float = 0.0, seed: int = 0,
                 fields=None, timeout: float = 1.0):
        self.urls = list(urls)
        self.models = set(models) if models else None  # None: every model
        self.drop = float(drop)
        self.fields = fields  # None: every stored field
        self.timeout = timeout
        self._rng = random.Random(seed)
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self.stats = {"queued": 0, "sent": 0, "failed": 0, "dropped": 0}
        self.log: deque = deque(maxlen=200)
        self._idle = threading.Event()
        self._idle.set()

    # -- configuration ---------------------------------------------------------------
    def configure(self, urls=None, models=None, drop=None, fields=None) -> None:
        if urls is not None:
            self.urls = list(urls)
        if models is not None:
            self.models = set(models) or None
        if drop is not None:
            if not 0.0 <= float(drop) <= 1.0:
                raise ValueError("drop must be between 0 and 1")
            self.drop = float(drop)
        if fields is not None:
            self.fields = list(fields) or None

    def to_dict(self) -> dict:
        return {"urls": self.urls, "models": sorted(self.models) if self.models else "*",
                "drop": self.drop, "fields": self.fields or "*", "timeout": self.timeout,
                "stats": dict(self.stats), "pending": self._queue.qsize()}

    # -- the ORM listener ---------------------------------------------------------------
    def __call__(self, env, action: str, model: str, ids: list[int]) -> None:
        """Called inside the transaction (before the unlink, after create/write)."""
        if not self.urls or (self.models is not None and model not in self.models):
            return
        m = env.registry[model]
        names = [f for f in (self.fields or m.fields) if f in m.fields and f != "id"
                 and m.fields[f].type not in ("binary",)]
        table = env.table(model)
        rows = env.rows(m, [table[i] for i in ids if i in table], names, load=None,
                        wire=False)  # ir_actions.py _run_action_webhook: json.dumps(default=str) keeps microseconds
        for row in rows:
            payload = {"_action": f"Send Webhook Notification(#{ACTION_IDS[action]})",
                       "_id": row["id"], "_model": model, **row}
            for url in self.urls:
                self.enqueue(url, payload)

    def enqueue(self, url: str, payload: dict) -> None:
        self.stats["queued"] += 1
        if self.drop and self._rng.random() < self.drop:
            self.stats["dropped"] += 1
            self.log.append({"url": url, "payload": payload, "status": "dropped"})
            return
        self._idle.clear()
        self._queue.put((url, json.dumps(payload).encode()))
        self._ensure_thread()

    # -- delivery ------------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="mock-odoo-webhooks", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            while True:
                item = self._queue.get()
                if item is None:
                    self._idle.set()
                    return
                url, body = item
                try:
                    response = client.post(url, content=body, headers={"Content-Type": "application/json"})
                    ok = response.status_code < 400
                    status = response.status_code
                except httpx.HTTPError as exc:
                    ok, status = False, type(exc).__name__
                    log.warning("webhook to %s failed: %s", url, exc)
                self.stats["sent" if ok else "failed"] += 1
                self.log.append({"url": url, "payload": json.loads(body), "status": status})
                if self._queue.empty():
                    self._idle.set()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until every queued notification was attempted (for tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.empty() and self._idle.wait(0.05):
                return True
        return False

    def stop(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=self.timeout * 2 + 1)
