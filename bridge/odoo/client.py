"""Odoo external-API client: JSON-RPC by default, XML-RPC and /json/2 as alternatives.

- one ``httpx.Client`` per instance (keep-alive), the uid obtained once and reused;
- transient errors (timeouts, connection errors, 5xx, 429, serialization, deadlock and lock failures) are retried with
  exponential backoff and full jitter up to a cap, honouring ``Retry-After`` on 429;
- permanent errors (ValidationError, AccessError, AccessDenied, UserError, MissingError, bad values)
  are raised at once as typed exceptions;
- every call carries the trace id (W3C ``traceparent`` and ``X-Trace-Id``);
- the password / API key never appears in an exception or a log line;
- debug mode (``SPECGEN_ODOO_DEBUG=1``, off by default) records a sample of the HTTP exchanges,
  request and response redacted then cut to a bound, as ``odoo call`` debug events of the current
  run (``ops.run_events``) and as JSON log lines.
"""
from __future__ import annotations

import contextlib
import itertools
import random
import secrets
import threading
import time
import xmlrpc.client
from typing import Any, Callable, Mapping

import httpx
import orjson

from bridge.observe import context, jsonlog, metrics, tracing
from bridge.observe.context import CALL_TRACE, new_trace_id
from bridge.observe.odoo_calls import record_call
from bridge.odoo.errors import (AccessDenied, AmbiguousOdooError, PermanentOdooError, TransientOdooError,
                                _JsonRpcMissing, classify)
from bridge.odoo.retry import RetryPolicy
from bridge.settings import Settings

log = jsonlog.get("odoo")


def _given(**options) -> dict:
    """The keyword arguments that were given (Odoo reads a missing one as its default)."""
    return {k: v for k, v in options.items() if v}


def resolve_secret(secret_ref: str, environ: Mapping[str, str]) -> str:
    """The password / API key from the variable named by ``secret_ref`` in ``environ`` (the settings'
    snapshot of the environment); registered so no log line shows it."""
    value = environ.get(secret_ref) if secret_ref else None
    if not value:
        raise AccessDenied(f"environment variable {secret_ref} (the instance's secret_ref) is not set",
                           name="MissingSecret")
    context.SECRETS.register(value)
    return value


class OdooClient:
    def __init__(self, base_url: str, db: str, login: str, password: str, *, protocol: str = "jsonrpc",
                 timeout: float = 30.0, retry: RetryPolicy | None = None, trace_id: str | None = None,
                 sleep: Callable[[float], None] = time.sleep, settings: Settings | None = None,
                 debug: bool | None = None, debug_sample: float | None = None, debug_max_bytes: int | None = None,
                 debug_rng: random.Random | None = None):
        """``debug``, ``debug_sample`` and ``debug_max_bytes`` default to the `settings` given (read by the
        CLI from SPECGEN_ODOO_DEBUG, SPECGEN_ODOO_DEBUG_SAMPLE and SPECGEN_ODOO_DEBUG_MAX_BYTES), else
        to off, 1 and 2048; an argument given wins."""
        settings = settings or Settings()
        self.base_url = base_url.rstrip("/")
        self.db, self.login, self.protocol = db, login, protocol
        self._password = password
        context.SECRETS.register(password)
        self.retry = retry or RetryPolicy()
        self.trace_id = trace_id or new_trace_id()
        self.sleep = sleep
        self.http = httpx.Client(base_url=self.base_url, timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
                                 limits=httpx.Limits(max_keepalive_connections=4))
        self._uid: int | None = None
        self._ids = itertools.count(1)
        self.retries = 0
        self.debug = bool(settings.odoo_debug if debug is None else debug)
        self.debug_sample = min(1.0, max(0.0, float(settings.odoo_debug_sample if debug_sample is None
                                                      else debug_sample)))
        self.debug_max_bytes = max(1, int(settings.odoo_debug_max_bytes if debug_max_bytes is None
                                          else debug_max_bytes))
        self._debug_rng = debug_rng or random.Random()
        self._local = threading.local()  # per thread: (attempt, sampled) of the call under way

    @classmethod
    def for_instance(cls, instance: dict, settings: Settings, **kw) -> "OdooClient":
        """The client of an ``odoo.instances`` row; its secret is looked up in ``settings``."""
        return cls(instance["base_url"], instance["database"], instance["login"],
                   resolve_secret(instance["secret_ref"], settings.environ),
                   protocol=instance.get("protocol") or "jsonrpc", settings=settings, **kw)

    def close(self) -> None:
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:  # never the password
        return f"OdooClient({self.base_url!r}, db={self.db!r}, login={self.login!r}, protocol={self.protocol!r})"

    # -- transport ---------------------------------------------------------------------------
    @property
    def current_trace_id(self) -> str:
        """The trace the next call carries: the one set by `traced`, else the run's, else the client's."""
        return CALL_TRACE.get() or context.trace_var.get() or self.trace_id

    @contextlib.contextmanager
    def traced(self, trace_id: str | None):
        """Calls made inside carry `trace_id` (in this thread and context only; the client is shared)."""
        token = CALL_TRACE.set(trace_id or None)
        try:
            yield self
        finally:
            CALL_TRACE.reset(token)

    def _headers(self) -> dict:
        trace = self.current_trace_id
        span = tracing.span_id_for(trace) or secrets.token_hex(8)  # the call's span, when traces are exported
        return {"traceparent": f"00-{trace[:32].rjust(32, '0')}-{span}-01", "X-Trace-Id": trace}

    def _post(self, path: str, content: bytes, content_type: str, extra: dict | None = None,
              note: dict | None = None) -> httpx.Response:
        """POST; ``note`` (debug recording) receives the HTTP status and the response body."""
        headers = {"Content-Type": content_type, **self._headers(), **(extra or {})}
        try:
            response = self.http.post(path, content=content, headers=headers)
        except httpx.ConnectError as exc:
            raise TransientOdooError(f"cannot connect to {self.base_url}: {exc}", name="ConnectError") from None
        except httpx.TimeoutException as exc:
            raise AmbiguousOdooError(f"timeout calling {self.base_url}{path}: {type(exc).__name__}",
                                     name="Timeout") from None
        except httpx.TransportError as exc:
            raise AmbiguousOdooError(f"connection lost calling {self.base_url}{path}: {type(exc).__name__}",
                                     name=type(exc).__name__) from None
        if note is not None:
            note["status"], note["body"] = response.status_code, response.content
        if response.status_code == 429:
            try:
                after = float(response.headers.get("Retry-After", "1"))
            except ValueError:
                after = 1.0
            raise TransientOdooError("Odoo answered 429 Too Many Requests", name="TooManyRequests",
                                     status=429, retry_after=after)
        if response.status_code in (502, 504):
            # a proxy gave up on Odoo, which may still run the call to its end and commit it
            raise AmbiguousOdooError(f"Odoo's proxy answered HTTP {response.status_code}: the call may still "
                                     "be executed", name=f"HTTP{response.status_code}", status=response.status_code)
        if response.status_code >= 500:
            raise TransientOdooError(f"Odoo answered HTTP {response.status_code}", name=f"HTTP{response.status_code}",
                                     status=response.status_code)
        return response

    def _jsonrpc(self, service: str, method: str, args: list) -> Any:
        def send(note):
            body = {"jsonrpc": "2.0", "method": "call", "id": next(self._ids),
                    "params": {"service": service, "method": method, "args": args}}
            response = self._post("/jsonrpc", orjson.dumps(body), "application/json", note=note)
            if response.status_code in (404, 405) and self.protocol == "jsonrpc":
                raise _JsonRpcMissing(f"Odoo answered HTTP {response.status_code} on /jsonrpc", name="JsonRpcMissing",
                                      status=response.status_code)
            if response.status_code >= 400:
                raise PermanentOdooError(f"Odoo answered HTTP {response.status_code}", status=response.status_code)
            try:
                reply = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                raise TransientOdooError("Odoo answered a body that is not JSON", name="BadResponse") from None
            error = reply.get("error")
            if error:
                data = error.get("data") or {}
                if error.get("code") == 100:
                    self._uid = None
                    raise TransientOdooError("Odoo session expired", name="SessionExpired")
                raise classify(data.get("name", ""), data.get("message") or error.get("message", ""),
                               data.get("debug", ""))
            return reply.get("result")
        return self._exchange("jsonrpc", service, method, args, send)

    def _xmlrpc(self, service: str, method: str, args: list) -> Any:
        def send(note):
            body = xmlrpc.client.dumps(tuple(args), method, allow_none=False).encode()
            response = self._post(f"/xmlrpc/2/{service}", body, "text/xml", note=note)
            if response.status_code >= 400:
                raise PermanentOdooError(f"Odoo answered HTTP {response.status_code}", status=response.status_code)
            try:
                return xmlrpc.client.loads(response.content, use_builtin_types=True)[0][0]
            except xmlrpc.client.Fault as fault:
                text = str(fault.faultString)
                last = text.strip().splitlines()[-1] if text.strip() else ""
                name = last.split(":", 1)[0] if fault.faultCode == 1 else ""
                raise classify(name, text if fault.faultCode != 1 else last, text, code=fault.faultCode) from None
        return self._exchange("xmlrpc", service, method, args, send)

    def _json2(self, model: str, method: str, args: list, kwargs: dict) -> Any:
        named = dict(kwargs)
        if method in ("read", "write", "unlink") and args:
            named["ids"] = args[0]
            if method == "write" and len(args) > 1:
                named["vals"] = args[1]
            if method == "read" and len(args) > 1:
                named["fields"] = args[1]
        elif method in ("search_read", "search", "search_count") and args:
            named["domain"] = args[0]
        elif method == "create" and args:
            named["vals_list"] = args[0] if isinstance(args[0], list) else [args[0]]

        def send(note):
            response = self._post(f"/json/2/{model}/{method}", orjson.dumps(named), "application/json",
                                  {"Authorization": f"bearer {self._password}", "X-Odoo-Database": self.db}, note=note)
            if response.status_code >= 400:
                try:
                    data = orjson.loads(response.content)
                except orjson.JSONDecodeError:
                    data = {}
                raise classify(data.get("name", ""), data.get("message", f"HTTP {response.status_code}"),
                               data.get("debug", ""), code={401: 3, 403: 4}.get(response.status_code))
            result = orjson.loads(response.content)
            if method == "create" and not isinstance(args[0], list) and isinstance(result, list):
                return result[0]
            return result
        # the API key travels only in the Authorization header, which is not recorded
        return self._exchange("json2", "object", method, [], send, model=model, request=named)

    def _call(self, service: str, method: str, args: list) -> Any:
        if self.protocol != "xmlrpc":
            try:
                return self._jsonrpc(service, method, args)
            except _JsonRpcMissing as exc:
                # no JSON-RPC endpoint (disabled by a proxy, or an old server): fall back to XML-RPC for good
                jsonlog.log(log, 30, "JSON-RPC endpoint missing; falling back to XML-RPC", base_url=self.base_url,
                            status=exc.status)
                self.protocol = "xmlrpc"
        return self._xmlrpc(service, method, args)

    # -- debug recording ---------------------------------------------------------------------
    def _sampled(self) -> bool:
        return self.debug and (self.debug_sample >= 1.0 or self._debug_rng.random() < self.debug_sample)

    def _exchange(self, protocol: str, service: str, method: str, args: list, send: Callable[[dict | None], Any],
                  *, model: str | None = None, request: Any = None) -> Any:
        """One HTTP request: ``send(note)`` posts and decodes. In debug mode a sampled call is recorded,
        whatever its outcome; recording never changes the outcome."""
        attempt, sampled = getattr(self._local, "call", None) or (1, self._sampled())
        if not sampled:
            return send(None)
        note: dict = {}
        trace_id, started = self.current_trace_id, time.perf_counter()
        try:
            result = send(note)
        except Exception as exc:
            record_call(self.debug_max_bytes, protocol, service, method, args, model, request, note, started, trace_id,
                        attempt, error=exc)
            raise
        record_call(self.debug_max_bytes, protocol, service, method, args, model, request, note, started, trace_id, attempt,
                    result=result)
        return result

    # -- public ------------------------------------------------------------------------------
    def with_retry(self, fn: Callable[[], Any], *, what: str, retry_ambiguous: bool = True,
                   attributes: dict | None = None) -> Any:
        # one span per call, its retries included, in the trace the call's headers name
        with tracing.span(f"odoo {what}", self.current_trace_id,
                          {"rpc.system": self.protocol, "odoo.call": what, **(attributes or {})}) as span:
            return self._with_retry(fn, what, retry_ambiguous, span)

    def _with_retry(self, fn: Callable[[], Any], what: str, retry_ambiguous: bool, span) -> Any:
        attempt = 0
        sampled = self._sampled()  # one decision per call: a recorded call shows all its attempts
        outer = getattr(self._local, "call", None)
        try:
            while True:
                self._local.call = (attempt + 1, sampled)
                try:
                    return fn()
                except TransientOdooError as exc:
                    if (isinstance(exc, AmbiguousOdooError) and not retry_ambiguous) \
                            or attempt + 1 >= self.retry.attempts:
                        raise
                    delay = self.retry.delay(attempt, exc)
                    self.retries += 1
                    run = context.run_var.get()  # the run this call serves, for the metric's labels
                    metrics.odoo_retry(getattr(run, "instance_id", None), getattr(run, "entity", None))
                    jsonlog.log(log, 20, "odoo call retried", call=what, attempt=attempt + 1, error=exc.name,
                                sleep_s=round(delay, 3), trace_id=self.current_trace_id)
                    if span is not None:
                        span.add_event("retry", {"attempt": attempt + 1, "error": exc.name, "sleep_s": round(delay, 3)})
                    self.sleep(delay)
                    attempt += 1
        finally:
            self._local.call = outer

    @property
    def uid(self) -> int:
        if self._uid is None:
            if self.protocol == "json2":
                self._uid = 0
            else:
                uid = self.with_retry(lambda: self._call("common", "login", [self.db, self.login, self._password]),
                                      what="common.login")
                if not uid:
                    raise AccessDenied(f"Odoo refused the login {self.login!r} on database {self.db!r}")
                self._uid = int(uid)
        return self._uid

    def version(self) -> dict:
        return self.with_retry(lambda: self._call("common", "version", []), what="common.version")

    def execute_kw(self, model: str, method: str, args: list, kwargs: dict | None = None, *,
                   retry_ambiguous: bool = True) -> Any:
        kwargs = kwargs or {}

        def once():
            started = time.perf_counter()
            try:
                if self.protocol == "json2":
                    return self._json2(model, method, args, kwargs)
                return self._call("object", "execute_kw", [self.db, self.uid, self._password, model, method, args,
                                                           kwargs])
            finally:
                metrics.observe_call(model, method, time.perf_counter() - started)
        return self.with_retry(once, what=f"{model}.{method}", retry_ambiguous=retry_ambiguous,
                               attributes={"odoo.model": model, "odoo.method": method})

    def model_fields(self, model: str) -> set[str]:
        """Names of the model's fields (fields_get, cached per client). A mapped field the server
        lacks is logged once and read as empty rather than failing every page."""
        return set(self.field_types(model))

    def field_types(self, model: str) -> dict[str, str]:
        """{field: Odoo type} of the model (one fields_get per model and client)."""
        cache = self.__dict__.setdefault("_fields_cache", {})
        if model not in cache:
            described = self.execute_kw(model, "fields_get", [], {"attributes": ["type"]})
            cache[model] = {name: (d or {}).get("type") if isinstance(d, dict) else None
                            for name, d in described.items()}
        return cache[model]

    def search_read(self, model: str, domain: list, fields: list[str], *, limit: int | None = None,
                    offset: int = 0, order: str | None = None, context: dict | None = None) -> list[dict]:
        return self.execute_kw(model, "search_read", [domain],
                               {"fields": fields, "offset": offset, **_given(limit=limit, order=order, context=context)})

    def search(self, model: str, domain: list, *, context: dict | None = None, limit: int | None = None,
               order: str | None = None) -> list[int]:
        return self.execute_kw(model, "search", [domain], _given(context=context, limit=limit, order=order))

    def read(self, model: str, ids: list[int], fields: list[str], context: dict | None = None) -> list[dict]:
        if not ids:
            return []
        kw: dict = {"fields": fields}
        if context:
            kw["context"] = context
        return self.execute_kw(model, "read", [list(ids)], kw)

    def existing_ids(self, model: str, ids, chunk: int = 1000) -> set[int]:
        """Which of ``ids`` still exist in Odoo, archived ones included. ``search`` on the ids with
        ``active_test`` off, never ``read(ids, ['id'])``: Odoo 17 answers that one for deleted ids too
        (models `_read_format` drops a record only when a real column fails to read)."""
        ids = sorted(set(ids))
        found: set[int] = set()
        for i in range(0, len(ids), chunk):
            part = ids[i:i + chunk]
            found |= set(self.search(model, [["id", "in", part]], context={"active_test": False}))
        return found

    def create(self, model: str, values: dict) -> int:
        # A timeout after sending may have created the record: never retried blindly here; the caller
        # looks the record up by its external reference first (see bridge.sync.push).
        result = self.execute_kw(model, "create", [values], retry_ambiguous=False)
        return int(result[0] if isinstance(result, list) else result)

    def write(self, model: str, ids: list[int], values: dict) -> bool:
        return self.execute_kw(model, "write", [list(ids), values])

    def unlink(self, model: str, ids: list[int]) -> bool:
        return self.execute_kw(model, "unlink", [list(ids)])
