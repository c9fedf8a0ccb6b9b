"""Odoo's RPC services (common, object, db) and web sessions, independent of the wire format."""
from __future__ import annotations

import contextvars
import random
import secrets
import threading
import time
from datetime import timedelta
from typing import Any

from .errors import AccessDenied, SerializationFailure, SessionExpired
from .orm import Database, call

VERSION_INFO = {
    "server_version": "17.0",
    "server_version_info": [17, 0, 0, "final", 0, ""],
    "server_serie": "17.0",
    "protocol_version": 1,
}


# the caller's address, set per request by the HTTP layer (app.py): the login cooldown is per IP
CLIENT_IP: contextvars.ContextVar[str] = contextvars.ContextVar("mock_odoo_client_ip", default="n/a")
# seconds a call's transaction stays open after its work, set per call by the HTTP layer (faults)
TXN_HOLD: contextvars.ContextVar[float] = contextvars.ContextVar("mock_odoo_txn_hold", default=0.0)
MAX_TRIES = 5  # odoo/service/model.py MAX_TRIES_ON_CONCURRENCY_FAILURE


class DatabaseNotFound(Exception):
    odoo_name = "psycopg2.OperationalError"

    def __init__(self, name: str):
        super().__init__(f'connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: '
                         f'FATAL:  database "{name}" does not exist\n')


def fault_target(service: Any, method: Any, args: Any) -> tuple[str, str]:
    """(model, method) a fault rule is matched against; non-ORM calls use the service name."""
    if service == "object" and method in ("execute", "execute_kw") and isinstance(args, list) \
            and len(args) >= 5 and isinstance(args[3], str) and isinstance(args[4], str):
        return args[3], args[4]
    return str(service), str(method)


class Services:
    """What /xmlrpc/2/*, /jsonrpc and /web/* all end up calling."""

    def __init__(self, db: Database, login_cooldown_after: int = 5, login_cooldown_duration: float = 60):
        self.db = db
        self.sessions: dict[str, dict] = {}
        # Odoo's ir.config_parameter `base.login_cooldown_after` / `base.login_cooldown_duration`
        self.login_cooldown_after = login_cooldown_after
        self.login_cooldown_duration = login_cooldown_duration
        self.login_failures: dict[str, tuple[int, Any]] = {}  # ip -> (failures since last success, last)
        self.login_attempts = 0  # logins that reached the credential check or the cooldown (for tests)
        self.login_lock = threading.Lock()
        self.concurrent_updates = 0  # transactions re-run by `retrying` (for tests and /mock/state)
        self.retry_rng = random.Random(0)

    # -- credentials --------------------------------------------------------------
    def _check_db(self, name: Any) -> None:
        if name != self.db.name:
            raise DatabaseNotFound(str(name))

    def uid_for(self, login: Any, password: Any) -> int | bool:
        for rid, user in self.db.table("res.users").items():
            if user.get("login") == login and user.get("active"):
                if password and (self.db.passwords.get(rid) == password or self.db.api_keys.get(password) == rid):
                    return rid
                return False
        return False

    def _on_login_cooldown(self, failures: int, previous) -> bool:
        """odoo/addons/base/models/res_users.py 17.0 `Users._on_login_cooldown`: refused while there
        have been `base.login_cooldown_after` failures (0 disables it) and the last one is less than
        `base.login_cooldown_duration` seconds old."""
        if not self.login_cooldown_after:
            return False
        return failures >= self.login_cooldown_after and \
            self.db.clock() - previous < timedelta(seconds=self.login_cooldown_duration)

    def authenticate(self, login: Any, password: Any) -> int:
        """res_users.py 17.0 `Users._login` inside `_assert_can_auth`: during the cooldown the login is
        refused before the password is looked at ("Too many login failures, please wait a bit before
        trying again."); a failure counts against the caller's IP, a success clears it."""
        source = CLIENT_IP.get()
        with self.login_lock:
            self.login_attempts += 1
            failures, previous = self.login_failures.get(source, (0, None))
            if previous is not None and self._on_login_cooldown(failures, previous):
                raise AccessDenied("Too many login failures, please wait a bit before trying again.")
            uid = self.uid_for(login, password)
            if not uid:
                self.login_failures[source] = (failures + 1, self.db.clock())
                raise AccessDenied()
            self.login_failures.pop(source, None)
            return uid

    def check(self, db_name: Any, uid: Any, password: Any) -> int:
        self._check_db(db_name)
        try:
            uid = int(uid)
        except (TypeError, ValueError):
            raise AccessDenied() from None
        user = self.db.table("res.users").get(uid)
        if not password or not user or not user.get("active") or not (
                self.db.passwords.get(uid) == password or self.db.api_keys.get(password) == uid):
            raise AccessDenied()
        return uid

    # -- transactions --------------------------------------------------------------
    def execute_kw(self, uid: int, model: Any, method: Any, args: Any, kwargs: Any, backdate: float = 0):
        """One call, one transaction, re-run on a concurrent update as odoo/service/model.py 17.0
        `retrying` does: up to MAX_TRIES (5) tries, rolled back and re-run after sleeping
        ``random.uniform(0, 2 ** tryno)`` seconds, the error raised as is once the tries are spent.
        A re-run is a new transaction: a new snapshot, a new write_date, new ids, and its side
        effects (webhooks) once more. ``TXN_HOLD`` keeps a transaction's changes uncommitted that
        many seconds after the call ran (slow work after the write: the slow_commit and late_execute
        faults)."""
        if not isinstance(args, list):
            args = list(args) if isinstance(args, tuple) else [args]
        kwargs = kwargs if isinstance(kwargs, dict) else {}
        context = kwargs.get("context") if isinstance(kwargs.get("context"), dict) else {}
        hold = TXN_HOLD.get()
        for tryno in range(1, MAX_TRIES + 1):
            env = self.db.env(uid, context, backdate)
            try:
                result = call(env, model, method, args, kwargs)
                if hold and env.changed:
                    time.sleep(hold)
                env.commit()
                return result
            except SerializationFailure:
                env.rollback()
                self.concurrent_updates += 1
                if tryno == MAX_TRIES:
                    raise
                time.sleep(self.retry_rng.uniform(0.0, 2 ** tryno))
            except BaseException:
                env.rollback()
                raise
        raise AssertionError("unreachable")

    # -- services ------------------------------------------------------------------
    def dispatch(self, service: Any, method: Any, args: Any, backdate: float = 0) -> Any:
        args = list(args or []) if isinstance(args, (list, tuple)) else [args]
        handlers = {"common": self.common, "object": self.object, "db": self.db_service}
        return handlers[service](method, args, backdate)

    def common(self, method: str, args: list, backdate: float = 0) -> Any:
        if method == "version":
            return dict(VERSION_INFO)
        if method in ("login", "authenticate"):
            if len(args) < 3:
                raise TypeError(f"exp_{method}() missing required positional arguments")
            self._check_db(args[0])
            try:  # odoo/service/common.py 17.0 `exp_authenticate` answers False for any AccessDenied
                return self.authenticate(args[1], args[2])
            except AccessDenied:
                return False
        if method == "about":
            return "See http://openerp.com"
        raise Exception(f"Method not found: {method}")

    def object(self, method: str, args: list, backdate: float = 0) -> Any:
        if method not in ("execute", "execute_kw"):
            raise NameError(f"Method not available {method}")
        if len(args) < 5:
            raise TypeError(f"{method}() missing required positional arguments "
                            "(db, uid, password, model, method)")
        uid = self.check(*args[:3])
        model, name = args[3], args[4]
        if method == "execute":
            return self.execute_kw(uid, model, name, list(args[5:]), {}, backdate)
        return self.execute_kw(uid, model, name, args[5] if len(args) > 5 else [],
                               args[6] if len(args) > 6 else {}, backdate)

    def db_service(self, method: str, args: list, backdate: float = 0) -> Any:
        if method == "list":
            return [self.db.name]
        if method == "server_version":
            return VERSION_INFO["server_version"]
        if method == "db_exist":
            return bool(args) and args[0] == self.db.name
        raise AccessDenied()

    # -- web sessions -------------------------------------------------------------------
    def web_authenticate(self, db_name: Any, login: Any, password: Any) -> tuple[str, dict]:
        if db_name != self.db.name:
            raise AccessDenied()
        uid = self.authenticate(login, password)
        sid = secrets.token_hex(20)
        self.sessions[sid] = {"uid": uid, "db": db_name, "login": login}
        return sid, self.session_info(uid)

    def session_uid(self, sid: str | None) -> int:
        session = self.sessions.get(sid or "")
        if not session:
            raise SessionExpired()
        return session["uid"]

    def session_info(self, uid: int) -> dict:
        users = self.db.table("res.users")
        user = users.get(uid, {})
        companies = self.db.table("res.company")
        allowed = {str(cid): {"id": cid, "name": companies[cid]["name"], "sequence": companies[cid]["sequence"],
                              "parent_id": False, "child_ids": []}
                   for cid in user.get("company_ids") or [] if cid in companies}
        return {
            "uid": uid, "is_system": uid in (1, 2), "is_admin": uid in (1, 2), "is_public": False,
            "user_context": {"lang": user.get("lang") or "en_US", "tz": user.get("tz") or "Europe/Brussels",
                             "uid": uid},
            "db": self.db.name, "name": user.get("name") or "", "username": user.get("login") or "",
            "partner_display_name": user.get("display_name") or "",
            "partner_id": user.get("partner_id") or False,
            "company_id": user.get("company_id") or False,
            "user_companies": {"current_company": user.get("company_id") or False,
                               "allowed_companies": allowed, "disallowed_ancestor_companies": {}},
            "server_version": VERSION_INFO["server_version"],
            "server_version_info": VERSION_INFO["server_version_info"],
            "support_url": "https://www.odoo.com/buy", "web.base.url": "http://127.0.0.1:8069",
        }
