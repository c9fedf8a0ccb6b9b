"""The two runtimes of the sync, for the guarantee scenarios (tests/runtime/test_guarantees.py), so both
run from one scenario list: "python", the Python worker as deployed, and "functions", the Edge Functions
under plain Deno driven by a `FunctionWorker` as pg_cron would drive them.

What each runtime offers the scenarios: `worker(db_url, ...)` (a background worker: started, killed with
SIGKILL or stopped), `pull(...)` (one entity, now), `process(...)` (the waiting webhook events, now) and
`quiesce(...)` (cycles until the queues are empty, then the reconcile audit of tests.runtime.helpers).

The function runtime cycles through `FUNCTIONS` (one invocation each per cycle: the pull with the
webhook events, then the push). What has no function runs as the Python worker runs it, in
`PYTHON_STEPS`: reconcile, which the functions do not port.
"""
from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
from types import SimpleNamespace

import httpx

from bridge.odoo.client import OdooClient
from bridge.settings import CONTRACTS_PATH_ENV
from bridge.store import db as bdb
from bridge.store.db import connect
from bridge.sync.contracts import load_adapters, pull_order
from bridge.sync.processor import Processor
from bridge.sync.pull import pull_entity, reconcile_entity
from bridge.sync.push import Pusher
from bridge.sync.worker import ClientCache
from tests.functions.pull_support import FAST_ODOO, TOKEN
from tests.functions.support import db_env, serve
from tests.runtime.helpers import queue_depth, quiesce as python_quiesce, stop_process, worker_process
from tests.runtime.support import SECRET_ENV, runtime_settings

# The functions a FunctionWorker invokes each cycle, in order; what the Python worker does besides.
FUNCTIONS: tuple[str, ...] = ("sync-from-odoo", "sync-to-odoo")
PYTHON_STEPS: tuple[str, ...] = ("reconcile",)


def _args(extra: tuple[str, ...]) -> dict[str, str]:
    """The worker command line's options (--name value) as a dict."""
    out, it = {}, iter(extra)
    for a in it:
        if a.startswith("--no-"):
            out[a[5:]] = "false"
        elif a.startswith("--"):
            out[a[2:]] = next(it)
    return out


class FunctionWorker:
    """The functions as a worker: each cycle invokes every function of `FUNCTIONS` over HTTP (the deno
    process serving it is the "worker" a test SIGKILLs), then runs `PYTHON_STEPS`; `interval` apart."""

    def __init__(self, db_url: str, *extra: str):
        o = _args(extra)
        self.db_url = db_url
        self.interval = float(o.get("interval", "0.05"))
        self.batch_size = int(o["pull-batch-size"]) if "pull-batch-size" in o else None
        self.reconcile_every = float(o.get("reconcile-every", "inf"))
        lease = o.get("lease", "300")
        self.env = {**db_env(db_url), "SPECGEN_FUNCTION_TOKEN": TOKEN, SECRET_ENV: "admin", **FAST_ODOO,
                    "SPECGEN_FUNCTION_LEASE_S": lease, "SPECGEN_FUNCTION_RETRY_BASE_S": o.get("retry-base", "1"),
                    "SPECGEN_LOG_LEVEL": "warning", "SPECGEN_FUNCTION_BUDGET_S": o.get("budget", "20")}
        if "lookback" in o:
            self.env["SPECGEN_FUNCTION_LOOKBACK_S"] = o["lookback"]
        adapters = load_adapters(os.environ[CONTRACTS_PATH_ENV])  # set by tests/runtime/conftest.py
        self.adapters = adapters
        self.clients = ClientCache(runtime_settings())
        self.pusher = Pusher(db_url, adapters, self.clients, retry_base=float(o.get("retry-base", "1")),
                             lease=dt.timedelta(seconds=float(lease)))
        self.served = {name: serve(name, self.env) for name in FUNCTIONS}
        self.stopping = threading.Event()
        self.errors: list[str] = []
        self.killed = False
        self.invocations = 0
        self.last_reconcile = time.monotonic()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def invoke(self, name: str, **body) -> dict | None:
        try:
            r = httpx.post(self.served[name].url, json=body, headers={"x-specgen-function-token": TOKEN}, timeout=120)
        except httpx.HTTPError as exc:
            if not self.killed:  # a SIGKILL mid-invocation has no answer; anything else is a failure
                self.errors.append(f"{name}: {type(exc).__name__}: {exc}")
            return None
        self.invocations += 1
        if r.status_code != 200:
            self.errors.append(f"{name}: {r.status_code} {r.text[:500]}")
            return None
        answer = r.json()
        for inst in answer.get("instances", []) if isinstance(answer.get("instances"), list) else []:
            # a step that failed inside a 200 answer (the Python worker logs it and carries on, as this does)
            failed = [e for e in inst.get("entities", []) if e.get("status") == "failed"]
            if (inst.get("events") or {}).get("status") == "failed":
                failed.append({"events": inst["events"]})
            self.errors.extend(f"{name}: {f}" for f in failed)
        return answer

    def cycle(self) -> None:
        for name in FUNCTIONS:  # the worker's --pull-batch-size is the pull's page size
            self.invoke(name, **({"batch_size": self.batch_size} if self.batch_size and name == "sync-from-odoo" else {}))
        with connect(self.db_url) as conn:
            instances = bdb.instances(conn)
        for inst in instances:
            if "push" in PYTHON_STEPS:
                self.pusher.run_once(limit=200, instance_id=inst["id"])
            if "reconcile" in PYTHON_STEPS and time.monotonic() - self.last_reconcile >= self.reconcile_every:
                client = self.clients(inst)
                for a in pull_order(self.adapters):
                    reconcile_entity(self.db_url, inst, self.adapters, a, client)
        if time.monotonic() - self.last_reconcile >= self.reconcile_every:
            self.last_reconcile = time.monotonic()

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self.cycle()
            except Exception as exc:  # noqa: BLE001 - a worker survives a failed cycle
                if not self.stopping.is_set():
                    self.errors.append(f"{type(exc).__name__}: {exc}")
            self.stopping.wait(self.interval)

    # -- what stop_process does to a worker process ---------------------------------------------
    def kill(self) -> None:
        """SIGKILL the function processes (mid-page, mid-invocation), then stop the loop."""
        self.killed = True
        for s in self.served.values():
            s.process.send_signal(signal.SIGKILL)
        self.stopping.set()
        self.thread.join(30)
        for s in self.served.values():
            s.process.wait(10)

    def stop(self) -> int:
        self.stopping.set()
        self.thread.join(120)
        for s in self.served.values():
            s.stop()
        self.clients.close()
        # as a worker process's exit code: 0 only if every invocation was answered 200 (errors() says why not)
        return 1 if self.errors else 0


class PythonRuntime:
    name = "python"

    def worker(self, db_url: str, *extra: str):
        return worker_process(db_url, *extra)

    def stop(self, worker, sig=signal.SIGTERM) -> int:
        return stop_process(worker, sig)

    def errors(self, worker) -> str:
        return worker.stderr.read().decode()[-2000:]

    def pull(self, db_url: str, instance: dict, adapters: dict, entity: str, client, **kw) -> dict:
        return pull_entity(db_url, instance, adapters, adapters[entity], client, **kw)

    def process(self, db_url: str, adapters: dict, client) -> dict:
        return Processor(db_url, adapters, lambda inst: client).run_once()

    def quiesce(self, db_url: str, adapters: dict, **kw):
        return python_quiesce(db_url, adapters, **kw)


class FunctionsRuntime:
    name = "functions"

    def __init__(self):
        self._served: dict[str, object] = {}

    def worker(self, db_url: str, *extra: str) -> FunctionWorker:
        return FunctionWorker(db_url, *extra)

    def stop(self, worker: FunctionWorker, sig=signal.SIGTERM) -> int:
        if sig == signal.SIGKILL:
            worker.kill()
            return -9
        return worker.stop()

    def errors(self, worker: FunctionWorker) -> str:
        return "\n".join(worker.errors)

    def served(self, db_url: str, name: str = "sync-from-odoo", **env: str):
        key = name + db_url + repr(sorted(env.items()))
        if key not in self._served:
            self._served[key] = serve(name, {**db_env(db_url), "SPECGEN_FUNCTION_TOKEN": TOKEN, SECRET_ENV: "admin",
                                             **FAST_ODOO, **env})
        return self._served[key]

    def invoke(self, db_url: str, env: dict | None = None, name: str = "sync-from-odoo", **body) -> dict:
        served = self.served(db_url, name, **(env or {}))
        r = httpx.post(served.url, json=body, headers={"x-specgen-function-token": TOKEN}, timeout=300)
        assert r.status_code == 200, r.text
        return r.json()

    def pull(self, db_url: str, instance: dict, adapters: dict, entity: str, client, *, batch_size=None,
             max_batches=None, lookback=None) -> dict:
        """One invocation restricted to the entity (a tiny budget stands for max_batches: it stops after
        the first page past the cursor). Returns that entity's result (read, batches, status)."""
        env = {"SPECGEN_FUNCTION_BUDGET_S": "0.001"} if max_batches else {}
        if lookback is not None:
            env["SPECGEN_FUNCTION_LOOKBACK_S"] = str(lookback.total_seconds() if hasattr(lookback, "total_seconds") else lookback)
        body = {"instance_id": str(instance["id"]), "entity": entity, **({"batch_size": batch_size} if batch_size else {})}
        answer = self.invoke(db_url, env, **body)
        (inst,) = answer["instances"]
        (result,) = inst["entities"]
        return result

    def process(self, db_url: str, adapters: dict, client) -> dict:
        """The events alone, through the function: an invocation with `"pull": false`."""
        return self.invoke(db_url, pull=False)

    def quiesce(self, db_url: str, adapters: dict, max_cycles: int = 8, **kw):
        """tests.runtime.helpers.quiesce with the function's cycles (lookback 1 s, short leases), then
        the same reconcile audit."""
        client_kw = kw.pop("client_kw", {})
        env = {"SPECGEN_FUNCTION_LOOKBACK_S": str(kw.pop("lookback", 1.0)), "SPECGEN_FUNCTION_LEASE_S": "0.2",
               "SPECGEN_FUNCTION_RETRY_BASE_S": "0"}
        if "timeout" in client_kw:
            env["SPECGEN_ODOO_TIMEOUT_S"] = str(client_kw["timeout"])
            env["SPECGEN_ODOO_RETRY_ATTEMPTS"] = "10"
        body = {"batch_size": kw.pop("pull_batch_size")} if kw.get("pull_batch_size") else {}
        def client_for(inst):
            return OdooClient.for_instance(inst, runtime_settings(), **client_kw)
        pusher = Pusher(db_url, adapters, client_for, retry_base=0.0, lease=dt.timedelta(seconds=0.2))
        for _ in range(max_cycles):
            time.sleep(0.25)
            with connect(db_url) as conn:
                conn.execute("update odoo.outbox set available_at = now() where status = 'pending' "
                             "and coalesce(last_error, '') not like 'AmbiguousCreate%%'")
                conn.execute("update odoo.webhook_events set available_at = now() where status = 'pending'")
            self.invoke(db_url, env, **body)
            if "push" in PYTHON_STEPS:
                pusher.run_once(limit=200)
            else:
                self.invoke(db_url, env, "sync-to-odoo")
            depth = queue_depth(db_url)
            if not depth["outbox"] and not depth["events"]:
                self.invoke(db_url, env, **body)
                break
        depth = queue_depth(db_url)

        w = SimpleNamespace()
        w.left = {k: depth[k] for k in ("outbox", "events") if depth[k]}
        w.repairs = {}
        with connect(db_url) as conn:
            instances = bdb.instances(conn)
        for inst in instances:
            client = client_for(inst)
            for adapter in pull_order(adapters):
                counts = reconcile_entity(db_url, inst, adapters, adapter, client)
                n = counts.get("fetched_missing", 0) + counts.get("stale", 0)
                if n:
                    w.repairs[adapter.entity] = w.repairs.get(adapter.entity, 0) + n
            client.close()
        return w

    def close(self) -> None:
        for s in self._served.values():
            s.stop()
        self._served.clear()


RUNTIMES = ("python", "functions")


def make(name: str):
    return PythonRuntime() if name == "python" else FunctionsRuntime()
