"""Odoo's exception classes and how each protocol renders them.

Odoo reports errors in two shapes:

* XML-RPC: HTTP 200 carrying a Fault whose ``faultCode`` is 3 (AccessDenied),
  4 (AccessError), 2 (UserError and its subclasses ValidationError and
  MissingError) or 1 (anything else, with the formatted traceback as
  ``faultString``).
* JSON-RPC: HTTP 200 carrying ``{"error": {"code": 200, "message": "Odoo Server
  Error", "data": {name, message, arguments, context, debug}}}``; an expired
  session uses code 100 and message "Odoo Session Expired".
"""
from __future__ import annotations

import traceback


class OdooError(Exception):
    """Base of the errors Odoo raises on purpose (its ``odoo.exceptions``)."""

    odoo_name = "odoo.exceptions.UserError"
    fault_code = 2

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UserError(OdooError):
    odoo_name = "odoo.exceptions.UserError"


class ValidationError(UserError):
    odoo_name = "odoo.exceptions.ValidationError"


class MissingError(UserError):
    odoo_name = "odoo.exceptions.MissingError"


class AccessError(OdooError):
    odoo_name = "odoo.exceptions.AccessError"
    fault_code = 4


class AccessDenied(OdooError):
    odoo_name = "odoo.exceptions.AccessDenied"
    fault_code = 3

    def __init__(self, message: str = "Access Denied"):
        super().__init__(message)


class SessionExpired(OdooError):
    odoo_name = "odoo.http.SessionExpiredException"
    fault_code = 1

    def __init__(self, message: str = "Session expired"):
        super().__init__(message)


class SerializationFailure(Exception):
    """What psycopg2 raises when Odoo's 5 internal retries all fail."""

    odoo_name = "psycopg2.errors.SerializationFailure"

    def __init__(self, message: str = "could not serialize access due to concurrent update"):
        super().__init__(message)


class LockNotAvailable(Exception):
    """What psycopg2 raises when a row lock (``SELECT ... FOR UPDATE NOWAIT``, a lock_timeout) cannot be
    had: odoo/service/model.py 17.0 `retrying` retries it like a serialization failure
    (PG_CONCURRENCY_ERRORS_TO_RETRY) and raises it as is once its tries are spent."""

    odoo_name = "psycopg2.errors.LockNotAvailable"

    def __init__(self, message: str = 'could not obtain lock on row in relation "res_partner"'):
        super().__init__(message)


def exception_name(exc: BaseException) -> str:
    """The dotted name Odoo puts in ``error.data.name``."""
    name = getattr(exc, "odoo_name", None)
    if name:
        return name
    module = type(exc).__module__
    if module in ("builtins", "__builtin__", None):
        module = "builtins"
    return f"{module}.{type(exc).__name__}"


def exception_message(exc: BaseException) -> str:
    if isinstance(exc, OdooError):
        return exc.message
    if isinstance(exc, KeyError) and exc.args:
        return repr(exc.args[0])
    return str(exc)


def format_debug(exc: BaseException) -> str:
    """A Python traceback, as Odoo sends in ``debug`` and in fault code 1."""
    if exc.__traceback__ is None:
        return "Traceback (most recent call last):\n" + "".join(
            traceback.format_exception_only(type(exc), exc))
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def xmlrpc_fault(exc: BaseException) -> tuple[int, str]:
    """(faultCode, faultString) exactly as Odoo's ``xmlrpc_handle_exception_int``."""
    if isinstance(exc, OdooError) and exc.fault_code in (2, 3, 4):
        return exc.fault_code, exc.message
    return 1, format_debug(exc)


def jsonrpc_error(exc: BaseException) -> dict:
    """The ``error`` member of a JSON-RPC response, as Odoo 17 builds it."""
    data = {
        "name": exception_name(exc),
        "debug": format_debug(exc),
        "message": exception_message(exc),
        "arguments": list(exc.args) if exc.args else [exception_message(exc)],
        "context": getattr(exc, "context", {}) or {},
    }
    if isinstance(exc, SessionExpired):
        return {"code": 100, "message": "Odoo Session Expired", "data": data}
    return {"code": 200, "message": "Odoo Server Error", "data": data}


def json2_status(exc: BaseException) -> int:
    """HTTP status of an error on Odoo 19's /json/2 API."""
    if isinstance(exc, AccessDenied | SessionExpired):
        return 401
    if isinstance(exc, AccessError):
        return 403
    if isinstance(exc, MissingError):
        return 404
    if isinstance(exc, UserError):
        return 422
    return 500
