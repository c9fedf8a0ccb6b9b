"""The long-running sync loop: pull, push, process events, reconcile, for every active instance.

Workers coordinate only through PostgreSQL (advisory locks for pulls, SKIP LOCKED for queues), so any
number of them may run on any number of machines. SIGTERM/SIGINT finish the current step and exit.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import signal
import threading
import time

import psycopg

from bridge.observe import jsonlog, metrics

from bridge.store import db, queries
from bridge.sync.contracts import pull_order
from bridge.odoo.client import OdooClient, resolve_secret
from bridge.odoo.errors import AccessDenied, OdooError
from bridge.settings import Settings
from bridge.sync.processor import Processor
from bridge.sync.pull import pull_entity, reconcile_entity
from bridge.sync.push import Pusher
from bridge.sync.reaper import reap_lost_runs

log = jsonlog.get("worker")
DB_BACKOFF_CAP = 5.0  # seconds between reconnect attempts at most: back soon after the database is


class DatabaseDown(Exception):
    """The connection to PostgreSQL is lost (or cannot be made): the cycle stops and waits."""


def connection_lost(exc: BaseException) -> bool:
    """A lost or refused connection (no SQLSTATE, class 08, or an admin/crash shutdown 57P0x), as
    opposed to an error of one statement: the former is transient for every step alike."""
    if not isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)):
        return False
    state = getattr(exc, "sqlstate", None)
    return state is None or state.startswith("08") or state in ("57P01", "57P02", "57P03")


class ClientCache:
    """One Odoo client per instance, reused across runs (session and keep-alive reuse)."""

    def __init__(self, settings: Settings, **client_kw):
        self.settings = settings  # where each instance's secret is looked up, and the client's debug knobs
        self.client_kw = client_kw
        self._clients: dict[str, OdooClient] = {}

    def __call__(self, instance: dict) -> OdooClient:
        key = str(instance["id"])
        if key not in self._clients:
            self._clients[key] = OdooClient.for_instance(instance, self.settings, **self.client_kw)
        return self._clients[key]

    def drop(self, key: str) -> None:
        """Forget an instance's client (its login was refused): the next one is built from the
        instance's configuration as it is then."""
        client = self._clients.pop(key, None)
        if client is not None:
            client.close()

    def close(self) -> None:
        for c in self._clients.values():
            c.close()
        self._clients.clear()


class Worker:
    def __init__(self, url: str, adapters: dict, *, settings: Settings, interval: float = 5.0, reconcile_every: float = 600.0,
                 batch_limit: int = 200, client_kw: dict | None = None, max_attempts: int = 8,
                 retry_base: float = 1.0, instance: str | None = None, pull_batch_size: int | None = None,
                 lease: float = 300.0, lookback: float | None = None, login_retry_after: float = 900.0,
                 reconcile_at_start: bool = True):
        import datetime as dt
        self.url, self.adapters, self.interval = url, adapters, interval
        self.reconcile_every, self.batch_limit, self.instance = reconcile_every, batch_limit, instance
        self.settings = settings
        self.clients = ClientCache(settings, **(client_kw or {}))
        self.pull_batch_size = pull_batch_size
        # None: each instance's own (its request_limit_seconds); a number overrides it for all
        self.lookback = dt.timedelta(seconds=lookback) if lookback is not None else None
        lease_td = dt.timedelta(seconds=lease)
        self.mirror_mappings = settings.mirror_mappings  # every step gets it from here
        self.pusher = Pusher(url, adapters, self.clients, max_attempts=max_attempts, retry_base=retry_base, lease=lease_td)
        self.processor = Processor(url, adapters, self.clients, max_attempts=max_attempts, retry_base=retry_base,
                                   lease=lease_td, mirror_mappings=self.mirror_mappings)
        self.lease = lease
        self.stop_event = threading.Event()
        self._last_reconcile: dict[str, float] = {}
        # the first reconcile: at once, or one period after the start
        self._started = -1e18 if reconcile_at_start else time.monotonic()
        self.skipped: dict[str, str] = {}  # instance id -> why it is skipped (broken configuration)
        # A login Odoo refused is not tried again every cycle: after 5 failures from one IP Odoo refuses
        # every login from it for 60 s (res_users `_on_login_cooldown`), people behind it included.
        # instance id -> (configuration fingerprint, monotonic time of the next try, reason)
        self.login_retry_after = login_retry_after
        self._refused: dict[str, tuple[str, float, str]] = {}
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

    def _client(self, inst: dict):
        """The instance's client, or None if its configuration is broken (e.g. its secret env var is
        unset): then that instance alone is skipped, reported once, and the others carry on."""
        key = str(inst["id"])
        client, reason = client_or_reason(self.clients, inst)
        if client is not None:
            client, reason = self._logged_in(key, inst, client)
        if client is None:
            if self.skipped.get(key) != reason:
                self.skipped[key] = reason
                jsonlog.log(log, logging.ERROR, "instance skipped: broken configuration", instance_id=key,
                            instance=inst.get("name"), reason=reason)
                metrics.instance_skipped(key, True)
                record_skip(self.url, inst, reason)
            return None
        if self.skipped.pop(key, None) is not None:
            jsonlog.log(log, logging.INFO, "instance configuration fixed", instance_id=key, instance=inst.get("name"))
            metrics.instance_skipped(key, False)
        return client

    def _logged_in(self, key: str, inst: dict, client: OdooClient) -> tuple[OdooClient | None, str | None]:
        """(client, None) once the instance is logged in, or (None, why the login is not tried now). A
        refused login is tried again only when the instance's configuration (URL, database, login,
        secret) changes or after ``login_retry_after`` seconds; a login that fails for another reason
        (Odoo down) is left to the steps, which report and retry it as usual."""
        fingerprint = config_fingerprint(inst, self.settings)
        refused = self._refused.get(key)
        if refused is not None:
            if refused[0] == fingerprint and time.monotonic() < refused[1]:
                return None, refused[2]
            self.clients.drop(key)  # built from the configuration as it is now
            client, reason = client_or_reason(self.clients, inst)
            if client is None:
                return None, reason
        if client.protocol == "json2":  # an API key, no login call
            return client, None
        try:
            client.uid
        except AccessDenied:
            self.clients.drop(key)  # the next try builds a client from the configuration as it is then
            until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=self.login_retry_after)
            reason = (f"login refused: check the instance's secret; not retried until "
                      f"{until:%Y-%m-%d %H:%M:%S} UTC or until its configuration changes (AccessDenied)")
            self._refused[key] = (fingerprint, time.monotonic() + self.login_retry_after, reason)
            return None, reason
        except OdooError:
            return client, None
        self._refused.pop(key, None)
        return client, None

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
                if connection_lost(exc):  # not this step's fault: the whole cycle waits for the database
                    raise DatabaseDown(f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}") from exc
                totals[f"{name}.errors"] = totals.get(f"{name}.errors", 0) + 1
                jsonlog.log(log, logging.ERROR, f"{name} failed", error=f"{type(exc).__name__}: {exc}")

        step("reap", lambda: {"lost_runs": len(reap_lost_runs(self.url, lease_s=self.lease,
                                                              grace_s=min(60.0, self.lease)))})
        insts: list = []
        step("instances", lambda: insts.extend(self._instances()))
        for inst in insts:
            client = self._client(inst)
            if client is None:
                totals["instances.skipped"] = totals.get("instances.skipped", 0) + 1
                continue
            for adapter in pull_order(self.adapters):
                step("pull", lambda a=adapter: pull_entity(self.url, inst, self.adapters, a, client,
                                                                  batch_size=self.pull_batch_size,
                                                                  should_stop=self.stop_event.is_set,
                                                                  lookback=self.lookback,
                                                                  mirror_mappings=self.mirror_mappings))
            step("process", lambda: self.processor.run_once(limit=self.batch_limit, instance_id=inst["id"]))
            step("push", lambda: self.pusher.run_once(limit=self.batch_limit, instance_id=inst["id"]))
            key = str(inst["id"])
            if time.monotonic() - self._last_reconcile.get(key, self._started) >= self.reconcile_every:
                for adapter in pull_order(self.adapters):
                    step("reconcile", lambda a=adapter: reconcile_entity(self.url, inst, self.adapters, a, client,
                                                                                 mirror_mappings=self.mirror_mappings))
                self._last_reconcile[key] = time.monotonic()
        step("metrics", self._update_metrics)
        self.cycles += 1
        return totals

    def _update_metrics(self) -> None:
        with db.connect(self.url) as conn:
            metrics.update(queries.metric_facts(conn))

    def wait_for_database(self) -> bool:
        """Block until PostgreSQL answers (True) or the worker is told to stop (False): a worker
        started before its database waits for it, like a worker whose database went away."""
        attempt = 0
        while not self.stop_event.is_set():
            try:
                with db.connect(self.url) as conn:
                    db.ping(conn)
                if attempt:
                    jsonlog.log(log, logging.WARNING, "database available again", attempts=attempt)
                return True
            except psycopg.Error as exc:
                if not connection_lost(exc):
                    raise
                attempt += 1
                if attempt == 1:
                    jsonlog.log(log, logging.WARNING, "database unavailable; reconnecting",
                                error=type(exc).__name__)
                self.stop_event.wait(min(DB_BACKOFF_CAP, 0.25 * 2 ** (attempt - 1)))
        return False

    def run(self, once: bool = False, max_cycles: int | None = None) -> None:
        """Cycle until stopped. A lost database is transient: one log line when it goes, reconnects
        with capped backoff, one line when it is back; `once` means one cycle that completed."""
        jsonlog.log(log, logging.INFO, "worker started", interval_s=self.interval)
        down_since, attempt = None, 0
        try:
            while not self.stop_event.is_set():
                try:
                    self.cycle()
                except DatabaseDown as exc:
                    attempt += 1
                    if down_since is None:
                        down_since = time.monotonic()
                        jsonlog.log(log, logging.WARNING, "database unavailable; reconnecting", error=str(exc))
                    self.stop_event.wait(min(DB_BACKOFF_CAP, 0.25 * 2 ** (attempt - 1)))
                    continue
                if down_since is not None:
                    jsonlog.log(log, logging.WARNING, "database available again",
                                down_s=round(time.monotonic() - down_since, 1), attempts=attempt)
                    down_since, attempt = None, 0
                if once or (max_cycles is not None and self.cycles >= max_cycles):
                    break
                self.stop_event.wait(self.interval)
        finally:
            self.clients.close()
            jsonlog.log(log, logging.INFO, "worker stopped", cycles=self.cycles)


def client_or_reason(clients: ClientCache, inst: dict) -> tuple[OdooClient | None, str | None]:
    """(client, None), or (None, why) when the instance's configuration is broken (its secret env var
    unset, say): a problem of that tenant alone, never a reason to stop the others."""
    try:
        return clients(inst), None
    except (OdooError, ValueError, KeyError) as exc:
        # the class goes last: "MissingSecret: environment ..." reads as "secret: <value>" to the log
        # redaction, which would print "MissingSecret: *** variable ..." on the dashboard
        return None, f"{exc} ({getattr(exc, 'name', type(exc).__name__)})"


def config_fingerprint(inst: dict, settings: Settings) -> str:
    """A digest of what a login depends on, the secret's value included (hashed, never kept)."""
    try:
        secret = resolve_secret(inst.get("secret_ref") or "", settings.environ)
    except OdooError:
        secret = ""
    parts = [str(inst.get(k) or "") for k in ("base_url", "database", "login", "protocol", "secret_ref")]
    return hashlib.sha256("\0".join(parts + [secret]).encode()).hexdigest()


def record_skip(url: str, inst: dict, reason: str) -> None:
    """Leave the skip where `sync status` and the dashboard read it (`queries.skipped_instances`): a
    failed run of the instance with entity null and error ``InstanceSkipped: ...``, until a later run
    of that instance succeeds. Recorded once per worker and reason, not once per cycle."""
    from bridge.store.runs import Run
    try:
        with Run(url, "pull", inst["id"], None) as run:
            run.counts["instance_skipped"] = 1
            raise InstanceSkipped(reason)
    except InstanceSkipped:
        pass
    except psycopg.Error:  # reporting must not stop the others; the log line and metric still tell
        pass


class InstanceSkipped(Exception):
    """An instance's configuration is broken: the worker skips it (see `Worker._client`)."""
