"""Odoo external-API client: JSON-RPC by default, XML-RPC and /json/2 as alternatives.

- one ``httpx.Client`` per instance (keep-alive), the uid obtained once and reused;
- transient errors (timeouts, connection errors, 5xx, 429, serialization failures) are retried with
  exponential backoff and full jitter up to a cap, honouring ``Retry-After`` on 429;
- permanent errors (ValidationError, AccessError, AccessDenied, UserError, MissingError, bad values)
  are raised at once as typed exceptions;
- every call carries the trace id (W3C ``traceparent`` and ``X-Trace-Id``);
- the password / API key never appears in an exception or a log line.
"""
from __future__ import annotations

import itertools
import os
import random
import re
import secrets
import time
import xmlrpc.client
from dataclasses import dataclass, field
from typing import Any, Callable

import httpx
import orjson

from bridge import jsonlog, metrics

log = jsonlog.get("odoo")


class OdooError(Exception):
    """Any error talking to Odoo. ``transient`` says whether trying again may help."""

    transient = False
    name = "OdooError"

    def __init__(self, message: str, *, name: str | None = None, status: int | None = None,
                 retry_after: float | None = None):
        super().__init__(jsonlog.redact(message))
        if name:
            self.name = name
        self.status = status
        self.retry_after = retry_after


class TransientOdooError(OdooError):
    transient = True


class AmbiguousOdooError(TransientOdooError):
    """The request was sent but no answer came: it may or may not have been executed."""


class PermanentOdooError(OdooError):
    pass


class ValidationError(PermanentOdooError):
    pass


class AccessError(PermanentOdooError):
    pass


class AccessDenied(PermanentOdooError):
    pass


class UserError(PermanentOdooError):
    pass


class MissingError(PermanentOdooError):
    pass


_BY_NAME = {"ValidationError": ValidationError, "AccessError": AccessError, "AccessDenied": AccessDenied,
            "UserError": UserError, "MissingError": MissingError, "RedirectWarning": UserError}
_BY_XMLRPC_CODE = {3: AccessDenied, 4: AccessError}


def classify(name: str, message: str, debug: str = "", code: int | None = None) -> OdooError:
    short = name.rsplit(".", 1)[-1]
    text = f"{message}\n{debug}"
    if "SerializationFailure" in text or "could not serialize access" in text or "deadlock detected" in text:
        return TransientOdooError(message, name=name or "SerializationFailure")
    if short in _BY_NAME:
        return _BY_NAME[short](message, name=short)
    if code == 2:  # XML-RPC folds UserError, ValidationError and MissingError into one code: read the text
        if "does not exist or has been deleted" in message:
            return MissingError(message, name="MissingError")
        if "operation cannot be completed" in message or "constraint" in message.lower():
            return ValidationError(message, name="ValidationError")
        return UserError(message, name="UserError")
    if code in _BY_XMLRPC_CODE:
        return _BY_XMLRPC_CODE[code](message, name=_BY_XMLRPC_CODE[code].__name__)
    if "OperationalError" in text or "PoolError" in text:
        return TransientOdooError(message, name=short or "OperationalError")
    return PermanentOdooError(message, name=short or "OdooServerError")


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter: sleep uniform(0, min(cap, base * 2**attempt))."""

    attempts: int = 6
    base: float = 0.1
    cap: float = 5.0
    retry_after_cap: float = 30.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, error: OdooError) -> float:
        jitter = self.rng.uniform(0, min(self.cap, self.base * (2 ** attempt)))
        if error.retry_after is not None:
            return min(self.retry_after_cap, error.retry_after) + jitter * 0.1
        return jitter


def new_trace_id() -> str:
    return secrets.token_hex(16)


_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def trace_id_from(headers) -> str:
    """The caller's trace id: W3C `traceparent` first, then `X-Trace-Id`, else a new one."""
    m = _TRACEPARENT.match((headers.get("traceparent") or "").strip().lower())
    if m and m.group(1) != "0" * 32:
        return m.group(1)
    given = (headers.get("x-trace-id") or "").strip()
    return given[:64] if given else new_trace_id()


def resolve_secret(secret_ref: str) -> str:
    """The password / API key from the environment variable named by ``secret_ref``."""
    value = os.environ.get(secret_ref)
    if not value:
        raise AccessDenied(f"environment variable {secret_ref} (the instance's secret_ref) is not set",
                           name="MissingSecret")
    jsonlog.register_secret(value)
    return value


class OdooClient:
    def __init__(self, base_url: str, db: str, login: str, password: str, *, protocol: str = "jsonrpc",
                 timeout: float = 30.0, retry: RetryPolicy | None = None, trace_id: str | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.base_url = base_url.rstrip("/")
        self.db, self.login, self.protocol = db, login, protocol
        self._password = password
        jsonlog.register_secret(password)
        self.retry = retry or RetryPolicy()
        self.trace_id = trace_id or new_trace_id()
        self.sleep = sleep
        self.http = httpx.Client(base_url=self.base_url, timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
                                 limits=httpx.Limits(max_keepalive_connections=4))
        self._uid: int | None = None
        self._ids = itertools.count(1)
        self.calls = 0
        self.retries = 0

    @classmethod
    def for_instance(cls, instance: dict, **kw) -> "OdooClient":
        return cls(instance["base_url"], instance["database"], instance["login"],
                   resolve_secret(instance["secret_ref"]), protocol=instance.get("protocol") or "jsonrpc", **kw)

    def close(self) -> None:
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:  # never the password
        return f"OdooClient({self.base_url!r}, db={self.db!r}, login={self.login!r}, protocol={self.protocol!r})"

    # -- transport ---------------------------------------------------------------------------
    def _headers(self) -> dict:
        span = secrets.token_hex(8)
        return {"traceparent": f"00-{self.trace_id[:32].rjust(32, '0')}-{span}-01", "X-Trace-Id": self.trace_id}

    def _post(self, path: str, content: bytes, content_type: str, extra: dict | None = None) -> httpx.Response:
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
        if response.status_code == 429:
            try:
                after = float(response.headers.get("Retry-After", "1"))
            except ValueError:
                after = 1.0
            raise TransientOdooError("Odoo answered 429 Too Many Requests", name="TooManyRequests",
                                     status=429, retry_after=after)
        if response.status_code >= 500:
            raise TransientOdooError(f"Odoo answered HTTP {response.status_code}", name=f"HTTP{response.status_code}",
                                     status=response.status_code)
        return response

    def _jsonrpc(self, service: str, method: str, args: list) -> Any:
        body = {"jsonrpc": "2.0", "method": "call", "id": next(self._ids),
                "params": {"service": service, "method": method, "args": args}}
        response = self._post("/jsonrpc", orjson.dumps(body), "application/json")
        if response.status_code in (404, 405) and self.protocol == "jsonrpc":
            # no JSON-RPC endpoint (disabled by a proxy, or an old server): fall back to XML-RPC for good
            jsonlog.log(log, 30, "JSON-RPC endpoint missing; falling back to XML-RPC", base_url=self.base_url,
                        status=response.status_code)
            self.protocol = "xmlrpc"
            return self._xmlrpc(service, method, args)
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
            raise classify(data.get("name", ""), data.get("message") or error.get("message", ""), data.get("debug", ""))
        return reply.get("result")

    def _xmlrpc(self, service: str, method: str, args: list) -> Any:
        body = xmlrpc.client.dumps(tuple(args), method, allow_none=False).encode()
        response = self._post(f"/xmlrpc/2/{service}", body, "text/xml")
        if response.status_code >= 400:
            raise PermanentOdooError(f"Odoo answered HTTP {response.status_code}", status=response.status_code)
        try:
            return xmlrpc.client.loads(response.content, use_builtin_types=True)[0][0]
        except xmlrpc.client.Fault as fault:
            text = str(fault.faultString)
            last = text.strip().splitlines()[-1] if text.strip() else ""
            name = last.split(":", 1)[0] if fault.faultCode == 1 else ""
            return_error = classify(name, text if fault.faultCode != 1 else last, text, code=fault.faultCode)
            raise return_error from None

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
        response = self._post(f"/json/2/{model}/{method}", orjson.dumps(named), "application/json",
                              {"Authorization": f"bearer {self._password}", "X-Odoo-Database": self.db})
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

    def _call(self, service: str, method: str, args: list) -> Any:
        return (self._xmlrpc if self.protocol == "xmlrpc" else self._jsonrpc)(service, method, args)

    # -- public ------------------------------------------------------------------------------
    def with_retry(self, fn: Callable[[], Any], *, what: str, retry_ambiguous: bool = True) -> Any:
        attempt = 0
        while True:
            self.calls += 1
            try:
                return fn()
            except TransientOdooError as exc:
                if (isinstance(exc, AmbiguousOdooError) and not retry_ambiguous) or attempt + 1 >= self.retry.attempts:
                    raise
                delay = self.retry.delay(attempt, exc)
                self.retries += 1
                jsonlog.log(log, 20, "odoo call retried", call=what, attempt=attempt + 1, error=exc.name,
                            sleep_s=round(delay, 3), trace_id=self.trace_id)
                self.sleep(delay)
                attempt += 1

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
        return self.with_retry(once, what=f"{model}.{method}", retry_ambiguous=retry_ambiguous)

    def model_fields(self, model: str) -> set[str]:
        """Names of the model's fields (fields_get, cached per client). A mapped field the server
        lacks is logged once and read as empty rather than failing every page."""
        cache = self.__dict__.setdefault("_fields_cache", {})
        if model not in cache:
            cache[model] = set(self.execute_kw(model, "fields_get", [], {"attributes": ["type"]}))
        return cache[model]

    def search_read(self, model: str, domain: list, fields: list[str], *, limit: int | None = None,
                    offset: int = 0, order: str | None = None, context: dict | None = None) -> list[dict]:
        kw: dict = {"fields": fields, "offset": offset}
        if limit:
            kw["limit"] = limit
        if order:
            kw["order"] = order
        if context:
            kw["context"] = context
        return self.execute_kw(model, "search_read", [domain], kw)

    def search(self, model: str, domain: list, *, context: dict | None = None, limit: int | None = None,
               order: str | None = None) -> list[int]:
        kw: dict = {}
        if context:
            kw["context"] = context
        if limit:
            kw["limit"] = limit
        if order:
            kw["order"] = order
        return self.execute_kw(model, "search", [domain], kw)

    def read(self, model: str, ids: list[int], fields: list[str], context: dict | None = None) -> list[dict]:
        if not ids:
            return []
        kw: dict = {"fields": fields}
        if context:
            kw["context"] = context
        return self.execute_kw(model, "read", [list(ids)], kw)

    def create(self, model: str, values: dict) -> int:
        # A timeout after sending may have created the record: never retried blindly here; the caller
        # looks the record up by its external reference first (see bridge.push).
        result = self.execute_kw(model, "create", [values], retry_ambiguous=False)
        return int(result[0] if isinstance(result, list) else result)

    def write(self, model: str, ids: list[int], values: dict) -> bool:
        return self.execute_kw(model, "write", [list(ids), values])

    def unlink(self, model: str, ids: list[int]) -> bool:
        return self.execute_kw(model, "unlink", [list(ids)])
