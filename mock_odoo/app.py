"""The HTTP face of the mock: Odoo's XML-RPC, JSON-RPC, web and /json/2 routes, plus /mock/*.

Every ORM route goes through the same steps: work out (model, method), ask the
fault plan what happens to this call, then dispatch to ``rpc.Services`` and
render the result or the error exactly as Odoo would for that protocol.
"""
from __future__ import annotations

import asyncio
import contextvars
import json
import socket
import struct
import threading
import xmlrpc.client
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .errors import LockNotAvailable, SerializationFailure, json2_status, jsonrpc_error, xmlrpc_fault
from .faults import Decision, FaultPlan, FaultSpecError
from .rpc import CLIENT_IP, TXN_HOLD, VERSION_INFO, Services, fault_target

INTERNAL_ERROR_HTML = (b"<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
                       b"<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was "
                       b"unable to complete your request. Either the server is overloaded or there is an "
                       b"error in the application.</p>\n")
RECORD_METHODS_JSON2 = {"read", "write", "unlink", "name_get", "exists", "copy"}


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _json(obj: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(_dumps(obj), status, headers, media_type="application/json")


class CaptureTransport:
    """Outermost ASGI layer: keeps uvicorn's own ``send`` so a fault can reset the socket."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            scope["mock.raw_send"] = send
        await self.app(scope, receive, send)


async def reset_connection(request: Request) -> Response:
    """Close the client's TCP connection with an RST (SO_LINGER 0), as a crashed proxy would."""
    send = request.scope.get("mock.raw_send")
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        await asyncio.sleep(0)
    return Response(b"", 500)


class GatewayTimeout(Exception):
    """late_execute: the proxy gave up waiting; the call itself runs (and commits) later."""


GATEWAY_TIMEOUT_HTML = (b"<html><head><title>504 Gateway Time-out</title></head><body><center>"
                        b"<h1>504 Gateway Time-out</h1></center><hr><center>nginx</center></body></html>")


def _gateway_timeout() -> Response:
    return Response(GATEWAY_TIMEOUT_HTML, 504, media_type="text/html")


class MockOdooApp:
    """Holds the services, fault plan and webhook sender behind the routes.

    Calls run in ``workers`` threads at once, as Odoo serves them from several workers (prefork
    ``--workers N``, or threads): each call is its own transaction on its own snapshot (orm.Env), so
    a call does not see what another commits while it runs, and commits land in their own order."""

    def __init__(self, services: Services, plan: FaultPlan | None = None, webhooks=None, admin=None,
                 workers: int = 4):
        self.services = services
        self.plan = plan or FaultPlan()
        self.webhooks = webhooks
        self.admin = admin  # callbacks for /mock/reset and /mock/save, set by the server
        self.requests = 0
        self.workers = max(1, int(workers))
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="mock-odoo-worker")

    # -- faults ---------------------------------------------------------------------
    async def before(self, request: Request, model: str, method: str) -> tuple[Decision, Response | None]:
        self.requests += 1
        CLIENT_IP.set(request.client.host if request.client else "n/a")  # for the login cooldown
        decision = self.plan.decide(model, method)
        if decision.latency:
            await asyncio.sleep(decision.latency)
        if decision.fault == "error500":
            return decision, Response(INTERNAL_ERROR_HTML, 500, media_type="text/html; charset=utf-8")
        if decision.fault == "error429":
            return decision, Response(b"Too Many Requests", 429, {"Retry-After": f"{decision.retry_after:g}"},
                                      media_type="text/plain")
        if decision.fault == "reset":
            return decision, await reset_connection(request)
        return decision, None

    async def after(self, decision: Decision) -> None:
        if decision.fault == "hang":
            try:
                await asyncio.sleep(decision.hang_for)
            except asyncio.CancelledError:  # server shutting down: the client gave up long ago
                pass

    async def run(self, decision: Decision, fn, *args):
        """Run the call in a worker thread (with this request's context: client IP, transaction hold)."""
        if decision.fault == "serialization":
            raise SerializationFailure()
        if decision.fault == "lock":
            raise LockNotAvailable()
        context = contextvars.copy_context()
        if decision.fault in ("late_execute", "slow_commit"):
            # one long transaction (lock waits, a slow compute after the write): it runs now, so its
            # write_date is now (odoo/sql_db.py Cursor.now, taken once per transaction) and its
            # webhooks go out now, and it commits `after` seconds later
            context.run(TXN_HOLD.set, decision.after)
        if decision.fault == "late_execute":
            # the proxy gave up (504); Odoo runs the call to its end whatever the proxy does
            threading.Thread(target=self._late, args=(context, fn, args), daemon=True,
                             name="mock-odoo-late-call").start()
            raise GatewayTimeout()
        return await asyncio.get_running_loop().run_in_executor(self.pool, context.run, fn, *args)

    @staticmethod
    def _late(context, fn, args) -> None:
        try:
            context.run(fn, *args)
        except Exception:  # noqa: BLE001 - nobody is waiting for the answer: an error is only lost, as in Odoo
            pass

    # -- XML-RPC ----------------------------------------------------------------------
    async def xmlrpc(self, request: Request) -> Response:
        service = request.path_params["service"]
        body = await request.body()
        try:
            params, method = xmlrpc.client.loads(body)
        except Exception as exc:  # malformed XML: Odoo answers a fault 1 with the traceback
            return self._xml(xmlrpc.client.Fault(*xmlrpc_fault(exc)))
        decision, early = await self.before(request, *fault_target(service, method, list(params)))
        if early is not None:
            return early
        try:
            result = await self.run(decision, self.services.dispatch, service, method, list(params), decision.backdate)
            out = xmlrpc.client.dumps((result,), methodresponse=True, allow_none=False)
        except GatewayTimeout:
            return _gateway_timeout()
        except Exception as exc:
            out = xmlrpc.client.dumps(xmlrpc.client.Fault(*xmlrpc_fault(exc)), allow_none=False)
        await self.after(decision)
        return Response(out.encode(), media_type="text/xml; charset=utf-8")

    @staticmethod
    def _xml(fault) -> Response:
        return Response(xmlrpc.client.dumps(fault, allow_none=False).encode(), media_type="text/xml; charset=utf-8")

    # -- JSON-RPC ---------------------------------------------------------------------
    async def _json_request(self, request: Request) -> tuple[Any, dict] | Response:
        body = await request.body()
        try:
            data = json.loads(body or b"{}")
            if not isinstance(data, dict):
                raise AttributeError("Invalid JSON-RPC data")
        except (ValueError, AttributeError) as exc:
            message = "Invalid JSON-RPC data" if isinstance(exc, AttributeError) else "Invalid JSON data"
            error = {"code": 400, "message": message,
                     "data": {"name": "werkzeug.exceptions.BadRequest", "message": message,
                              "arguments": [message], "context": {}, "debug": ""}}
            return _json({"jsonrpc": "2.0", "id": None, "error": error}, 400)
        params = data.get("params")
        return data.get("id"), params if isinstance(params, dict) else {}

    @staticmethod
    def _reply(req_id: Any, result: Any = None, exc: BaseException | None = None) -> Response:
        if exc is not None:
            return _json({"jsonrpc": "2.0", "id": req_id, "error": jsonrpc_error(exc)})
        return _json({"jsonrpc": "2.0", "id": req_id, "result": result})

    async def _json_call(self, request: Request, req_id: Any, model: str, method: str, fn, *args) -> Response:
        decision, early = await self.before(request, model, method)
        if early is not None:
            return early
        try:
            response = self._reply(req_id, await self.run(decision, fn, *args, decision.backdate))
        except GatewayTimeout:
            return _gateway_timeout()
        except Exception as exc:
            response = self._reply(req_id, exc=exc)
        await self.after(decision)
        return response

    async def jsonrpc(self, request: Request) -> Response:
        parsed = await self._json_request(request)
        if isinstance(parsed, Response):
            return parsed
        req_id, params = parsed
        service, method, args = params.get("service"), params.get("method"), params.get("args") or []
        model, name = fault_target(service, method, args)
        return await self._json_call(request, req_id, model, name, self.services.dispatch, service, method, args)

    async def version_info(self, request: Request) -> Response:
        parsed = await self._json_request(request) if request.method == "POST" else (None, {})
        if isinstance(parsed, Response):
            return parsed
        return self._reply(parsed[0], dict(VERSION_INFO))

    async def web_version(self, request: Request) -> Response:
        return _json(dict(VERSION_INFO))

    async def session_authenticate(self, request: Request) -> Response:
        parsed = await self._json_request(request)
        if isinstance(parsed, Response):
            return parsed
        req_id, params = parsed
        decision, early = await self.before(request, "web", "session_authenticate")
        if early is not None:
            return early
        try:
            sid, info = await self.run(decision, self.services.web_authenticate,
                                       params.get("db"), params.get("login"), params.get("password"))
        except GatewayTimeout:
            return _gateway_timeout()
        except Exception as exc:
            return self._reply(req_id, exc=exc)
        response = self._reply(req_id, info)
        response.set_cookie("session_id", sid, max_age=7 * 24 * 3600, httponly=True, path="/", samesite="lax")
        await self.after(decision)
        return response

    async def session_info(self, request: Request) -> Response:
        parsed = await self._json_request(request)
        if isinstance(parsed, Response):
            return parsed
        try:
            uid = self.services.session_uid(request.cookies.get("session_id"))
            return self._reply(parsed[0], self.services.session_info(uid))
        except Exception as exc:
            return self._reply(parsed[0], exc=exc)

    async def session_destroy(self, request: Request) -> Response:
        parsed = await self._json_request(request)
        if isinstance(parsed, Response):
            return parsed
        self.services.sessions.pop(request.cookies.get("session_id") or "", None)
        return self._reply(parsed[0], None)

    async def call_kw(self, request: Request) -> Response:
        parsed = await self._json_request(request)
        if isinstance(parsed, Response):
            return parsed
        req_id, params = parsed
        model, method = params.get("model"), params.get("method")
        sid = request.cookies.get("session_id")

        def go(backdate):
            uid = self.services.session_uid(sid)
            return self.services.execute_kw(uid, model, method, params.get("args") or [],
                                            params.get("kwargs") or {}, backdate)
        return await self._json_call(request, req_id, str(model), str(method), go)

    # -- Odoo 19 /json/2 -------------------------------------------------------------------
    async def json2(self, request: Request) -> Response:
        model, method = request.path_params["model"], request.path_params["method"]
        auth = request.headers.get("authorization", "")
        scheme, _, key = auth.partition(" ")
        uid = self.services.db.api_keys.get(key.strip()) if scheme.lower() == "bearer" else None
        if not uid:
            return _json({"name": "werkzeug.exceptions.Unauthorized", "message": "Invalid apikey",
                          "arguments": ["Invalid apikey", 401], "context": {}, "debug": ""}, 401)
        try:
            body = json.loads(await request.body() or b"{}")
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
        except ValueError as exc:
            return _json({"name": "werkzeug.exceptions.BadRequest", "message": str(exc),
                          "arguments": [str(exc)], "context": {}, "debug": ""}, 400)
        if model not in self.services.db.registry:
            return _json({"name": "werkzeug.exceptions.NotFound", "message": f"Model {model!r} not found",
                          "arguments": [], "context": {}, "debug": ""}, 404)
        decision, early = await self.before(request, model, method)
        if early is not None:
            return early
        ids = body.pop("ids", None)
        args = [ids or []] if method in RECORD_METHODS_JSON2 else []
        try:
            result = await self.run(decision, self.services.execute_kw, uid, model, method, args, body, decision.backdate)
            response = _json(result)
        except GatewayTimeout:
            return _gateway_timeout()
        except AttributeError as exc:
            response = _json(_error_body(exc), 404)
        except Exception as exc:
            response = _json(_error_body(exc), json2_status(exc))
        await self.after(decision)
        return response

    # -- /mock admin ---------------------------------------------------------------------
    async def state(self, request: Request) -> Response:
        return _json(self.admin.state())

    async def faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.plan = FaultPlan()
            return _json(self.plan.to_dict())
        if request.method == "GET":
            return _json(self.plan.to_dict())
        try:
            self.plan = FaultPlan.from_json(json.loads(await request.body() or b"{}"))
        except (ValueError, FaultSpecError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json(self.plan.to_dict())

    async def webhooks_admin(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                data = json.loads(await request.body() or b"{}")
                self.webhooks.configure(urls=data.get("urls"), models=data.get("models"),
                                        drop=data.get("drop"), fields=data.get("fields"))
            except (ValueError, TypeError, AttributeError) as exc:
                return _json({"error": str(exc)}, 400)
        return _json({**self.webhooks.to_dict(), "log": list(self.webhooks.log)})

    async def reset(self, request: Request) -> Response:
        self.admin.reset()
        return _json(self.admin.state())

    async def save(self, request: Request) -> Response:
        try:
            path = self.admin.save()
        except (OSError, ValueError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"saved": path})

    def build(self):
        routes = [
            Route("/xmlrpc/2/{service:str}", self.xmlrpc, methods=["POST"]),
            Route("/xmlrpc/{service:str}", self.xmlrpc, methods=["POST"]),
            Route("/jsonrpc", self.jsonrpc, methods=["POST"]),
            Route("/web/webclient/version_info", self.version_info, methods=["GET", "POST"]),
            Route("/web/version", self.web_version, methods=["GET"]),
            Route("/web/session/authenticate", self.session_authenticate, methods=["POST"]),
            Route("/web/session/get_session_info", self.session_info, methods=["POST"]),
            Route("/web/session/destroy", self.session_destroy, methods=["POST"]),
            Route("/web/dataset/call_kw", self.call_kw, methods=["POST"]),
            Route("/web/dataset/call_kw/{path:path}", self.call_kw, methods=["POST"]),
            Route("/json/2/{model:str}/{method:str}", self.json2, methods=["POST"]),
            Route("/mock/state", self.state, methods=["GET"]),
            Route("/mock/faults", self.faults, methods=["GET", "POST", "DELETE"]),
            Route("/mock/webhooks", self.webhooks_admin, methods=["GET", "POST"]),
            Route("/mock/reset", self.reset, methods=["POST"]),
            Route("/mock/save", self.save, methods=["POST"]),
        ]
        return CaptureTransport(Starlette(routes=routes))


def _error_body(exc: BaseException) -> dict:
    data = jsonrpc_error(exc)["data"]
    return data
