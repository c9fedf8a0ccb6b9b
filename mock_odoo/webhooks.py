"""Odoo 17 "Send Webhook Notification" automation rules (odoo/addons/base/models/ir_actions.py
`_run_action_webhook`).

Like Odoo 17: one POST per record, body ``json.dumps({"_action": "Send Webhook Notification(#N)",
"_id": id, "_model": model, ...the fields chosen on the action, read with load=None}, sort_keys=True,
default=str)``, and **no fields unless some are chosen** (``fields``; ``"*"`` for every stored field).
Only a ``Content-Type: application/json`` header; ``requests.post(..., timeout=1)`` **synchronously,
inside the ORM call, before its transaction commits** (base_automation patches create/write/unlink;
the unlink rule runs before the delete); a failure is logged and never retried. So a slow receiver
slows the caller's own call, and a receiver that reads the record back at once may find the old
values, or no record yet. ``after_commit=True`` models Odoo 19 instead (odoo/odoo#216018: sent after
the cursor commits), from a background thread. ``drop`` discards that fraction of notifications
(seeded) to simulate loss.
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
                 fields=None, timeout: float = 1.0, after_commit: bool = False):
        self.urls = list(urls)
        self.models = set(models) if models else None  # None: every model
        self.drop = float(drop)
        self.fields = list(fields) if fields else []  # none chosen, as on a new Odoo action; "*": all
        self.timeout = timeout
        self.after_commit = after_commit  # Odoo 19; Odoo 17 posts inside the call, before commit
        self._rng = random.Random(seed)
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self.stats = {"queued": 0, "sent": 0, "failed": 0, "dropped": 0}
        self.log: deque = deque(maxlen=200)
        self._idle = threading.Event()
        self._idle.set()
        self._lock = threading.Lock()  # calls post from several worker threads at once

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
            self.fields = [fields] if isinstance(fields, str) else list(fields)

    def to_dict(self) -> dict:
        return {"urls": self.urls, "models": sorted(self.models) if self.models else "*",
                "drop": self.drop, "fields": self.fields, "timeout": self.timeout,
                "after_commit": self.after_commit,
                "stats": dict(self.stats), "pending": self._queue.qsize()}

    # -- the ORM listener ---------------------------------------------------------------
    def __call__(self, env, action: str, model: str, ids: list[int]) -> None:
        """Called inside the transaction (before the unlink, after create/write)."""
        if not self.urls or (self.models is not None and model not in self.models):
            return
        m = env.registry[model]
        chosen = list(m.fields) if "*" in self.fields else self.fields
        names = [f for f in chosen if f in m.fields and f != "id" and m.fields[f].type not in ("binary",)]
        table = env.table(model)
        present = [i for i in ids if i in table]
        # `if self.webhook_field_ids: vals.update(record.read(...)[0])`: no fields chosen, no read at all;
        # json.dumps(default=str) keeps a datetime's microseconds (wire=False)
        rows = (env.rows(m, [table[i] for i in present], names, load=None, wire=False) if names
                else [{"id": i} for i in present])
        for row in rows:
            payload = {"_action": f"Send Webhook Notification(#{ACTION_IDS[action]})",
                       "_id": row["id"], "_model": model, **(row if names else {})}
            for url in self.urls:
                self.enqueue(url, payload)

    def _count(self, key: str) -> None:
        with self._lock:
            self.stats[key] += 1

    def enqueue(self, url: str, payload: dict) -> None:
        with self._lock:
            self.stats["queued"] += 1
            dropped = bool(self.drop) and self._rng.random() < self.drop
        if dropped:
            self._count("dropped")
            self.log.append({"url": url, "payload": payload, "status": "dropped"})
            return
        body = json.dumps(payload, sort_keys=True, default=str).encode()
        if not self.after_commit:  # Odoo 17: the caller waits, its transaction still open
            self._deliver(self._sync_client(), url, body)
            return
        self._idle.clear()
        self._queue.put((url, body))
        self._ensure_thread()

    def _sync_client(self) -> httpx.Client:
        with self._lock:  # one client (its connection pool is thread-safe) for every worker thread
            if getattr(self, "_client", None) is None:
                self._client = httpx.Client(timeout=self.timeout)
            return self._client

    def _deliver(self, client: httpx.Client, url: str, body: bytes) -> None:
        try:
            response = client.post(url, content=body, headers={"Content-Type": "application/json"})
            ok = response.status_code < 400
            status = response.status_code
        except httpx.HTTPError as exc:
            ok, status = False, type(exc).__name__
            log.warning("webhook to %s failed: %s", url, exc)
        self._count("sent" if ok else "failed")
        self.log.append({"url": url, "payload": json.loads(body), "status": status})

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
                self._deliver(client, url, body)
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
        if getattr(self, "_client", None) is not None:
            self._client.close()
            self._client = None
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=self.timeout * 2 + 1)
