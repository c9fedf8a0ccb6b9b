"""Webhook receiver (starlette ASGI): authenticates Odoo notifications and stores each event once.

Routes:
- ``POST /webhooks/odoo/{instance_id}/{token}``: the secret URL token, compared in constant time
  with ``odoo.instances.webhook_token_hash`` (sha256 hex of the token). Odoo 17 signs nothing, so
  this is what its automation rule calls.
- ``POST /webhooks/odoo/{instance_id}``: for a signing proxy: ``X-Specgen-Timestamp`` (unix seconds)
  and ``X-Specgen-Signature: sha256=<hex HMAC-SHA256 of "timestamp.body">``, within ``window`` seconds;
  the key is the value of the environment variable the instance names
  (``odoo.instances.webhook_hmac_secret_ref``); for an instance that names none, the receiver's shared
  key (the variable named by ``hmac_secret_env``). An instance with its own key never accepts the
  shared one, so one tenant's signing proxy cannot sign for another tenant's instance.
- ``GET /health``.
- ``GET /metrics``: Prometheus exposition (docs/observability.md).

Answers: 202 accepted (also for a duplicate, which stores nothing), 400 bad JSON / schema,
404 an instance id that is not a canonical UUID, 401 bad auth (also an unknown instance), 413 body too large, 415 not JSON, 503 when the database is down (nothing was
acknowledged, so Odoo or the proxy may retry; the periodic pull catches up anyway). Never a 5xx for
bad input. The event is acknowledged only after its INSERT committed.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import re
import time

import orjson
import psycopg
from psycopg.rows import dict_row
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bridge.observe import jsonlog, metrics, tracing

from bridge.store import db

from bridge.sync import events
from bridge.observe.context import trace_id_from
from bridge.settings import Settings

log = jsonlog.get("receiver")
MAX_BODY = 256 * 1024
HMAC_ENV = "SPECGEN_WEBHOOK_HMAC_SECRET"
# Only the canonical form names an instance: uuid.UUID() also takes `urn:uuid:...`, braces and no
# hyphens, which PostgreSQL then refuses (it used to surface as a 503 "database unavailable").
CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Instance rows are cached this long: a revoked token or a deactivated instance stops working within it.
CACHE_TTL_S = 0.5
CACHE_MAX = 10_000  # random ids from strangers must not grow the cache without bound


class TooLarge(Exception):
    pass


class Pool:
    """A few async connections handed out through a queue; broken ones are replaced on next use."""

    def __init__(self, url: str, size: int = 4):
        self.url, self.size = url, size
        self._queue: asyncio.Queue | None = None

    async def _connect(self):
        return await psycopg.AsyncConnection.connect(self.url, autocommit=True, row_factory=dict_row,
                                                     application_name="specgen-webhooks", connect_timeout=3)

    async def acquire(self, fresh: bool = False):
        """A connection: an idle one, or a new one if it is broken or ``fresh`` is asked for."""
        if self._queue is None:
            self._queue = asyncio.Queue()
            for _ in range(self.size):
                self._queue.put_nowait(None)
        conn = await self._queue.get()
        if fresh and conn is not None:
            asyncio.ensure_future(_close_quietly(conn))
            conn = None
        if conn is None or conn.closed or conn.broken:
            try:
                conn = await self._connect()
            except BaseException:
                self._queue.put_nowait(None)
                raise
            conn._sg_fresh = True  # psycopg connections take attributes: used once, then it is "idle"
        else:
            conn._sg_fresh = False
        return conn

    def release(self, conn, broken: bool = False) -> None:
        if broken:
            asyncio.ensure_future(_close_quietly(conn))
            conn = None
            # A lost connection means the server restarted or went away: the other idle ones are as
            # dead, but would only say so when used, one failed request each. Drop them now.
            idle = []
            while not self._queue.empty():
                idle.append(self._queue.get_nowait())
            for other in idle:
                if other is not None:
                    asyncio.ensure_future(_close_quietly(other))
                self._queue.put_nowait(None)
        self._queue.put_nowait(conn)

    async def execute(self, sql: str, params, fetch: str = "all"):
        """Run one statement. A reused connection that turns out dead (the server restarted while it
        sat idle) is replaced and the statement tried once more on a fresh one, so the first request
        after a restart succeeds; a fresh connection that fails means the database is down: raised.
        Safe for the receiver's statements: a SELECT, and an INSERT ... ON CONFLICT DO NOTHING."""
        for fresh in (False, True):
            conn = await self.acquire(fresh=fresh)
            broken = False
            try:
                cur = await conn.execute(sql, params)
                return await (cur.fetchall() if fetch == "all" else cur.fetchone())
            except (psycopg.OperationalError, psycopg.InterfaceError, OSError):
                broken = True
                if conn._sg_fresh or fresh:
                    raise
            finally:
                self.release(conn, broken)

    async def close(self) -> None:
        if self._queue is None:
            return
        while not self._queue.empty():
            conn = self._queue.get_nowait()
            if conn is not None:
                await _close_quietly(conn)


async def _close_quietly(conn) -> None:
    try:
        await conn.close()
    except Exception:
        pass


INSERT_SQL = """
insert into odoo.webhook_events (instance_id, idempotency_key, odoo_model, odoo_id, payload, trace_id)
select * from unnest(%s::uuid[], %s::text[], %s::text[], %s::int[], %s::jsonb[], %s::text[])
on conflict (instance_id, idempotency_key) do nothing
returning id, instance_id::text, idempotency_key"""


class GroupInsert:
    """Group commit: events arriving while an INSERT is in flight are stored together in the next one.

    Each caller still waits for the commit of its own event before it is answered (acknowledge after
    commit); batching only saves PostgreSQL work and round trips under load. Up to ``pool.size``
    INSERTs run at once.
    """

    def __init__(self, pool: Pool, max_batch: int = 256):
        self.pool, self.max_batch = pool, max_batch
        self.items: list = []
        self.running = 0

    async def submit(self, params: tuple):
        future = asyncio.get_running_loop().create_future()
        self.items.append((params, future))
        if self.running < self.pool.size:
            self.running += 1
            asyncio.ensure_future(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self.items:
                batch, self.items = self.items[:self.max_batch], self.items[self.max_batch:]
                await self._insert(batch)
        finally:
            self.running -= 1

    async def _insert(self, batch: list) -> None:
        retry_alone = False
        try:
            columns = [list(c) for c in zip(*(p for p, _ in batch))]
            rows = await self.pool.execute(INSERT_SQL, columns)
        except BaseException as exc:  # noqa: BLE001 - every waiter must hear about it
            broken = isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError, OSError))
            retry_alone = not broken and len(batch) > 1 and isinstance(exc, psycopg.Error)
            if not retry_alone:
                _fail(batch, exc)
            rows = None
        if retry_alone:  # one bad event (e.g. a NUL in its JSON) must not fail its batch-mates
            for item in batch:
                await self._insert([item])
            return
        if rows is None:
            return
        stored = {(r["instance_id"], r["idempotency_key"]): r["id"] for r in rows}
        for params, fut in batch:
            # the first of several identical keys in one batch gets the row, the others are duplicates
            if not fut.done():
                fut.set_result(stored.pop((params[0], params[1]), None))


def _fail(batch: list, exc: BaseException) -> None:
    for _, fut in batch:
        if not fut.done():
            fut.set_exception(exc)


def _problem(status: int, message: str, **extra) -> JSONResponse:
    headers = {"Retry-After": "5"} if status == 503 else None
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


async def _read_body(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _lifespan(pool: Pool):
    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        await pool.close()
    return lifespan


def create_app(database_url: str, *, max_body: int = MAX_BODY, hmac_secret_env: str = HMAC_ENV,
               settings: Settings | None = None, window: int = 300, pool_size: int = 4,
               cache_ttl: float = CACHE_TTL_S) -> Starlette:
    """`settings`: where the HMAC keys are looked up by name (none given: no key, so signatures fail)."""
    settings = settings or Settings()
    pool = Pool(database_url, pool_size)
    inserter = GroupInsert(pool)
    cache: dict[str, tuple[float, dict | None]] = {}
    stats = {"accepted": 0, "duplicates": 0, "rejected": 0, "unavailable": 0}

    async def instance(instance_id: str) -> dict | None:
        hit = cache.get(instance_id)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        row = await pool.execute(
            "select id, org_id, webhook_token_hash, webhook_hmac_secret_ref, active from odoo.instances where id = %s",
            (instance_id,), fetch="one")
        now = time.monotonic()
        if len(cache) >= CACHE_MAX:
            for key in [k for k, (expiry, _) in cache.items() if expiry <= now]:
                del cache[key]
            if len(cache) >= CACHE_MAX:
                cache.clear()
        cache[instance_id] = (now + cache_ttl, row)
        return row

    def token_ok(inst: dict, token: str) -> bool:
        expected = (inst.get("webhook_token_hash") or "").lower()
        given = db.webhook_token_hash(token)
        return bool(expected) and hmac.compare_digest(given, expected)

    def signature_ok(inst: dict, request: Request, body: bytes, key: str | None) -> tuple[bool, bool]:
        """(signed, key_signed). The signature covers "<timestamp>.<body>", or, to make an
        Idempotency-Key count, "<timestamp>.<key>\n<body>". A key the signature does not cover is
        ignored (the key comes from the body), else a captured delivery could be stored again within
        the window under a new key. The two forms cannot be confused: a raw newline in JSON is only
        whitespace inside the object, so what follows it is never a whole JSON object."""
        secret = settings.secret(inst.get("webhook_hmac_secret_ref") or hmac_secret_env) or ""
        ts, sig = request.headers.get("x-specgen-timestamp", ""), request.headers.get("x-specgen-signature", "")
        if not secret or not ts.isdigit() or not sig.startswith("sha256="):
            return False, False
        if abs(time.time() - int(ts)) > window:
            return False, False
        given = sig[len("sha256="):].lower()

        def mac(message: bytes) -> str:
            return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
        if key is not None and hmac.compare_digest(mac(ts.encode() + b"." + key.encode() + b"\n" + body), given):
            return True, True
        return hmac.compare_digest(mac(ts.encode() + b"." + body), given), False

    async def receive(request: Request) -> Response:
        """Count every delivery by outcome for /metrics (the contract in docs/observability.md). The
        instance label is the id of an instance that exists, else "unknown": a label never comes
        from the URL as such, so strangers cannot grow /metrics."""
        known: list[str] = []
        trace_id = trace_id_from(request.headers)
        # the delivery's span is in the trace the stored event keeps, so its processing joins it later
        route = "/webhooks/odoo/{instance_id}" + ("/{token}" if "token" in request.path_params else "")
        handle = tracing.start("webhook delivery", trace_id, {"http.request.method": "POST", "http.route": route,
                                                              "specgen.trace_id": trace_id}, carrier=request.headers)
        try:
            response = await _receive(request, known, trace_id)
        except BaseException as exc:
            tracing.finish(handle, f"{type(exc).__name__}: {exc}", exc)
            raise
        if handle:
            handle[0].set_attributes({"http.response.status_code": response.status_code,
                                      "specgen.instance_id": known[0] if known else metrics.UNKNOWN})
        tracing.finish(handle, f"HTTP {response.status_code}" if response.status_code >= 500 else None)
        instance_label = known[0] if known else metrics.UNKNOWN
        metrics.webhook(instance_label, "received")
        outcome = {202: "accepted", 503: "unavailable"}.get(response.status_code, "rejected")
        metrics.webhook(instance_label, outcome)
        return response

    async def _receive(request: Request, known: list[str], trace_id: str) -> Response:
        t0 = time.perf_counter()
        instance_id, token = request.path_params["instance_id"], request.path_params.get("token")
        if not CANONICAL_UUID.fullmatch(instance_id):
            stats["rejected"] += 1
            return _problem(404, "no such instance")
        instance_id = instance_id.lower()
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_body:
            stats["rejected"] += 1
            return _problem(413, f"body larger than {max_body} bytes")
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            stats["rejected"] += 1
            return _problem(415, "Content-Type must be application/json")
        try:
            body = await _read_body(request, max_body)
        except TooLarge:
            stats["rejected"] += 1
            return _problem(413, f"body larger than {max_body} bytes")
        except ClientDisconnect:
            return Response(status_code=400)
        try:
            inst = await instance(instance_id)
        except (psycopg.Error, OSError) as exc:
            stats["unavailable"] += 1
            jsonlog.log(log, logging.ERROR, "database unavailable", trace_id=trace_id, error=type(exc).__name__)
            return _problem(503, "database unavailable; retry later")
        if inst is not None:
            known.append(instance_id)
        key = request.headers.get("idempotency-key") or request.headers.get("x-idempotency-key")
        if inst is None or not inst["active"]:
            authed = False
        elif token is not None:
            authed = token_ok(inst, token)
        else:
            authed, key_signed = signature_ok(inst, request, body, key)
            key = key if key_signed else None
        if not authed:
            stats["rejected"] += 1
            return _problem(401, "unknown instance or bad credentials")
        try:
            event = orjson.loads(body)
        except orjson.JSONDecodeError:
            stats["rejected"] += 1
            return _problem(400, "body is not valid JSON")
        problem = events.validate(event)
        if problem:
            stats["rejected"] += 1
            return _problem(400, f"event does not match the schema: {problem}")
        signed_at = request.headers.get("x-specgen-timestamp") if token is None else None
        key = (key or events.idempotency_key(event, body, signed_at))[:200]
        try:
            event_id = await inserter.submit((instance_id, key, event["_model"], event["_id"],
                                              body.decode("utf-8", "replace"), trace_id))
        except (psycopg.OperationalError, psycopg.InterfaceError, OSError) as exc:
            stats["unavailable"] += 1
            jsonlog.log(log, logging.ERROR, "database unavailable", trace_id=trace_id, error=type(exc).__name__)
            return _problem(503, "database unavailable; retry later")
        except psycopg.DataError:
            stats["rejected"] += 1
            return _problem(400, "event could not be stored as given (bad characters?)")
        except psycopg.Error as exc:  # anything else from the database: not the sender's fault, retryable
            stats["unavailable"] += 1
            jsonlog.log(log, logging.ERROR, "event not stored", trace_id=trace_id, error=type(exc).__name__)
            return _problem(503, "event not stored; retry later")
        if event_id is None:
            stats["duplicates"] += 1
            return JSONResponse({"status": "duplicate", "idempotency_key": key}, status_code=202)
        stats["accepted"] += 1
        jsonlog.log(log, logging.DEBUG, "event accepted", trace_id=trace_id, event_id=event_id,
                    model=event["_model"], odoo_id=event["_id"], ms=round((time.perf_counter() - t0) * 1000, 2))
        return JSONResponse({"status": "accepted", "id": event_id, "trace_id": trace_id}, status_code=202)

    async def health(request: Request) -> Response:
        try:
            await pool.execute("select 1", None, fetch="one")
        except (psycopg.Error, OSError):
            return JSONResponse({"status": "degraded", "database": "down", **stats}, status_code=503,
                                headers={"Retry-After": "5"})
        return JSONResponse({"status": "ok", "database": "up", **stats})

    async def metrics_endpoint(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE_LATEST)

    async def not_allowed(request: Request) -> Response:
        return _problem(405, "use POST")

    app = Starlette(middleware=[Middleware(metrics.HttpRequests)], routes=[
        Route("/webhooks/odoo/{instance_id}/{token}", receive, methods=["POST"]),
        Route("/webhooks/odoo/{instance_id}", receive, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ], lifespan=_lifespan(pool))
    return app
