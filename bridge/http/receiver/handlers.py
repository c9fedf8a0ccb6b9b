"""The receiver's endpoints: a delivery (``POST /webhooks/odoo/...``) and ``GET /health``.

`Receiver` holds what they share (pool, group insert, instance cache, credentials, counters); each
step of a delivery is a method that answers the request itself when it refuses it.
"""
from __future__ import annotations

import logging
import re
import time

import orjson
import psycopg
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from bridge.http.receiver.auth import Credentials
from bridge.http.receiver.instances import InstanceCache
from bridge.observe import jsonlog, metrics, tracing
from bridge.observe.context import trace_id_from
from bridge.store import inbox
from bridge.sync import events

log = jsonlog.get("receiver")
MAX_BODY = 256 * 1024
# Only the canonical form names an instance: uuid.UUID() also takes `urn:uuid:...`, braces and no
# hyphens, which PostgreSQL then refuses (it used to surface as a 503 "database unavailable").
CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class TooLarge(Exception):
    pass


class Refused(Exception):
    """A step of a delivery refused it: `response` is the answer."""

    def __init__(self, response: Response):
        self.response = response


def problem(status: int, message: str, **extra) -> JSONResponse:
    headers = {"Retry-After": "5"} if status == 503 else None
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


async def read_body(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


class Receiver:
    def __init__(self, pool: inbox.Pool, inserter: inbox.GroupInsert, instances: InstanceCache,
                 credentials: Credentials, max_body: int = MAX_BODY):
        self.pool, self.inserter, self.instances = pool, inserter, instances
        self.credentials, self.max_body = credentials, max_body
        self.stats = {"accepted": 0, "duplicates": 0, "rejected": 0, "unavailable": 0}

    def reject(self, status: int, message: str) -> Refused:
        self.stats["rejected"] += 1
        return Refused(problem(status, message))

    def unavailable(self, trace_id: str, exc: BaseException, what: str = "database unavailable",
                    answer: str = "database unavailable; retry later") -> Refused:
        self.stats["unavailable"] += 1
        jsonlog.log(log, logging.ERROR, what, trace_id=trace_id, error=type(exc).__name__)
        return Refused(problem(503, answer))

    async def receive(self, request: Request) -> Response:
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
            try:
                response = await self.deliver(request, known, trace_id)
            except Refused as refused:
                response = refused.response
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

    async def deliver(self, request: Request, known: list[str], trace_id: str) -> Response:
        """Check, authenticate, parse and store one delivery; a refusal raises `Refused`."""
        t0 = time.perf_counter()
        instance_id, token = request.path_params["instance_id"], request.path_params.get("token")
        if not CANONICAL_UUID.fullmatch(instance_id):
            raise self.reject(404, "no such instance")
        instance_id = instance_id.lower()
        body = await self.body(request)
        try:
            inst = await self.instances.get(instance_id)
        except (psycopg.Error, OSError) as exc:
            raise self.unavailable(trace_id, exc) from None
        if inst is not None:
            known.append(instance_id)
        key = request.headers.get("idempotency-key") or request.headers.get("x-idempotency-key")
        authed, key = self.credentials.check(inst, token, request.headers, body, key)
        if not authed:
            raise self.reject(401, "unknown instance or bad credentials")
        event = self.event(body)
        signed_at = request.headers.get("x-specgen-timestamp") if token is None else None
        key = (key or events.idempotency_key(event, body, signed_at))[:200]
        event_id = await self.store(instance_id, key, event, body, trace_id)
        if event_id is None:
            self.stats["duplicates"] += 1
            return JSONResponse({"status": "duplicate", "idempotency_key": key}, status_code=202)
        self.stats["accepted"] += 1
        jsonlog.log(log, logging.DEBUG, "event accepted", trace_id=trace_id, event_id=event_id,
                    model=event["_model"], odoo_id=event["_id"], ms=round((time.perf_counter() - t0) * 1000, 2))
        return JSONResponse({"status": "accepted", "id": event_id, "trace_id": trace_id}, status_code=202)

    async def body(self, request: Request) -> bytes:
        """The JSON body, within `max_body` bytes (as declared and as read)."""
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body:
            raise self.reject(413, f"body larger than {self.max_body} bytes")
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise self.reject(415, "Content-Type must be application/json")
        try:
            return await read_body(request, self.max_body)
        except TooLarge:
            raise self.reject(413, f"body larger than {self.max_body} bytes") from None
        except ClientDisconnect:
            raise Refused(Response(status_code=400)) from None

    def event(self, body: bytes) -> dict:
        try:
            event = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise self.reject(400, "body is not valid JSON") from None
        invalid = events.validate(event)
        if invalid:
            raise self.reject(400, f"event does not match the schema: {invalid}")
        return event

    async def store(self, instance_id: str, key: str, event: dict, body: bytes, trace_id: str) -> int | None:
        """The stored event's id once committed (None: a duplicate)."""
        try:
            return await self.inserter.submit((instance_id, key, event["_model"], event["_id"],
                                               body.decode("utf-8", "replace"), trace_id))
        except inbox.CONNECTION_ERRORS as exc:
            raise self.unavailable(trace_id, exc) from None
        except psycopg.DataError:
            raise self.reject(400, "event could not be stored as given (bad characters?)") from None
        except psycopg.Error as exc:  # anything else from the database: not the sender's fault, retryable
            raise self.unavailable(trace_id, exc, "event not stored", "event not stored; retry later") from None

    async def health(self, request: Request) -> Response:
        try:
            await inbox.ping(self.pool)
        except (psycopg.Error, OSError):
            return JSONResponse({"status": "degraded", "database": "down", **self.stats}, status_code=503,
                                headers={"Retry-After": "5"})
        return JSONResponse({"status": "ok", "database": "up", **self.stats})
