"""``MockOdooServer``: the mock on a real uvicorn server, in a background thread or in the foreground.

    with MockOdooServer(demo=50) as odoo:      # 127.0.0.1, a free port
        xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/2/common").version()
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

import uvicorn

from .app import MockOdooApp
from .demo import seed_base, seed_demo, sync_ir_model
from .faults import FaultPlan
from .orm import Database, utcnow
from .rpc import Services
from .standard import standard_registry
from .webhooks import WebhookSender

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class MockOdooServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, db: str = "odoo", login: str = "admin",
                 password: str = "admin", demo: int = 0, faults: str | FaultPlan | None = None,
                 webhook_urls=(), webhook_models=None, webhook_drop: float = 0.0, webhook_fields=None,
                 webhook_after_commit: bool = False, models=(), state_file: str | os.PathLike | None = None, api_key: str | None = "mock-api-key",
                 demo_seed: int = 17, clock=utcnow, log_level: str = "warning", allow_remote: bool = False,
                 workers: int = 4):
        if host not in LOOPBACK and not allow_remote:
            raise ValueError(f"refusing to bind {host!r}: the mock has no security; use 127.0.0.1")
        self.host, self.port = host, port
        self.login, self.password, self.demo, self.demo_seed = login, password, demo, demo_seed
        self.api_key = api_key
        self.state_file = Path(state_file) if state_file else None
        self.log_level = log_level
        registry = standard_registry()
        for spec in models:  # specs may refer to each other in any order
            registry.register(spec, check=False)
        registry.check_relations()
        self.db = Database(registry, db, clock)
        self.webhooks = WebhookSender(webhook_urls, webhook_models, webhook_drop,
                                      fields=webhook_fields, after_commit=webhook_after_commit)
        plan = faults if isinstance(faults, FaultPlan) else FaultPlan.parse(faults)
        self.services = Services(self.db)
        self.app = MockOdooApp(self.services, plan, self.webhooks, admin=self, workers=workers)
        if self.state_file and self.state_file.exists():
            self._seed(load=json.loads(self.state_file.read_text()))
        else:
            self._seed()
        self.db.listeners.append(self.webhooks)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    # -- data ------------------------------------------------------------------------
    def _seed(self, load: dict | None = None) -> None:
        with self.db.lock:
            listeners, self.db.listeners = self.db.listeners, []  # no webhooks for seeding
            self.db.tables, self.db.next_ids = {}, {}
            seed_base(self.db, self.login, self.password)
            if load is not None:
                self.db.load(load)
                sync_ir_model(self.db)
            else:
                seed_demo(self.db, self.demo, self.demo_seed)
            if self.api_key:
                self.db.api_keys[self.api_key] = 2
            self.db.listeners = listeners
            self.db.version += 1
            self.db._search_cache.clear()

    def register_model(self, spec: dict):
        """Add a model (or fields of an existing one) while running; see models.Registry.register."""
        with self.db.lock:
            model = self.db.registry.register(spec)
            self.db.registry.check_relations()
            for rec in self.db.table(model.name).values():
                for fname, f in model.fields.items():
                    if f.store and f.type != "one2many" and fname not in rec:
                        rec[fname] = [] if f.type == "many2many" else False
            sync_ir_model(self.db)
            self.db.version += 1
            self.db._search_cache.clear()
        return model

    def reset(self) -> None:
        """Back to the freshly seeded database (same --demo N); faults and webhooks are kept."""
        self._seed()
        self.services.sessions.clear()
        self.services.login_failures.clear()

    def save(self, path: str | os.PathLike | None = None) -> str:
        target = Path(path) if path else self.state_file
        if target is None:
            raise ValueError("no state file configured (start with --state-file PATH)")
        with self.db.lock:
            text = json.dumps(self.db.dump())
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(target)
        return str(target)

    def state(self) -> dict:
        with self.db.lock:
            counts = {name: len(self.db.table(name)) for name in sorted(self.db.registry.models)}
            latest = {name: self.db.max_write_date(name) for name, n in counts.items() if n}
        return {"db": self.db.name, "url": self.url if self._socket else None, "server_version": "17.0",
                "records": counts, "max_write_date": latest, "requests": self.app.requests,
                "workers": self.app.workers, "concurrent_updates": self.services.concurrent_updates,
                "faults": self.app.plan.to_dict(), "webhooks": self.webhooks.to_dict(),
                "state_file": str(self.state_file) if self.state_file else None}

    @property
    def faults(self) -> FaultPlan:
        return self.app.plan

    @faults.setter
    def faults(self, plan: str | FaultPlan | None) -> None:
        self.app.plan = plan if isinstance(plan, FaultPlan) else FaultPlan.parse(plan)

    # -- serving ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _bind(self) -> uvicorn.Server:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on such sockets, and without
        # it Nagle + delayed ACK add 40 ms to every keep-alive request.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(128)
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app.build(), log_level=self.log_level, lifespan="off", http="h11",
                                access_log=False, timeout_graceful_shutdown=1, timeout_keep_alive=30)
        self._server = uvicorn.Server(config)
        return self._server

    def start(self, timeout: float = 10.0) -> "MockOdooServer":
        """Serve from a background thread; returns once the port accepts connections."""
        server = self._bind()
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [self._socket]},
                                        name=f"mock-odoo-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the mock Odoo server did not start")
            time.sleep(0.01)
        return self

    def serve_forever(self, on_ready=None) -> None:
        """Serve in this thread until SIGINT/SIGTERM (uvicorn installs the handlers)."""
        server = self._bind()

        @contextlib.contextmanager
        def quiet_signals():
            # like uvicorn's, minus re-raising the signal afterwards: we exit cleanly instead
            originals = {sig: signal.signal(sig, server.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in originals.items():
                    signal.signal(sig, handler)
        server.capture_signals = quiet_signals
        if on_ready:
            on_ready(self)
        try:
            server.run(sockets=[self._socket])
        finally:
            self._shutdown()

    def stop(self, timeout: float = 5.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(timeout)
            self._thread = None
        self._shutdown()

    def _shutdown(self) -> None:
        self.app.pool.shutdown(wait=False, cancel_futures=True)
        self.webhooks.stop()
        if self._socket is not None:
            self._socket.close()
        if self.state_file:
            self.save()

    def __enter__(self) -> "MockOdooServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
