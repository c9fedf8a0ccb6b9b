"""The errors of talking to Odoo, and `classify`: which Odoo exception (by name, XML-RPC fault code or
text) becomes which of them. ``transient`` says whether trying again may help (bridge.odoo.retry)."""
from __future__ import annotations

from bridge.observe import jsonlog
from specgen.errors import RuntimeFailure


class OdooError(RuntimeFailure):
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


class _JsonRpcMissing(PermanentOdooError):
    """/jsonrpc answered 404/405: the client falls back to XML-RPC."""


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
    # odoo/service/model.py 17.0 `retrying` re-runs a call on these three (PG_CONCURRENCY_ERRORS_TO_RETRY)
    # and raises the last one once its tries are spent: the row was busy, so trying later may succeed
    if "SerializationFailure" in text or "could not serialize access" in text or "deadlock detected" in text:
        return TransientOdooError(message, name=name or "SerializationFailure")
    if "LockNotAvailable" in text or "could not obtain lock" in text:
        return TransientOdooError(message, name="LockNotAvailable")
    if short in _BY_NAME:
        return _BY_NAME[short](message, name=short)
    if code == 2:  # XML-RPC folds UserError, ValidationError and MissingError into one code: read the text
        # models.py 17.0: "Record does not exist or has been deleted." (reading), "One of the records you
        # are trying to modify has already been deleted (Document type: ...)" (`_write`), "One of the
        # documents you are trying to access has been deleted, ..." (`check_access_rule`)
        if "has been deleted" in message or "has already been deleted" in message:
            return MissingError(message, name="MissingError")
        if "operation cannot be completed" in message or "constraint" in message.lower():
            return ValidationError(message, name="ValidationError")
        return UserError(message, name="UserError")
    if code in _BY_XMLRPC_CODE:
        return _BY_XMLRPC_CODE[code](message, name=_BY_XMLRPC_CODE[code].__name__)
    if "OperationalError" in text or "PoolError" in text:
        return TransientOdooError(message, name=short or "OperationalError")
    return PermanentOdooError(message, name=short or "OdooServerError")
