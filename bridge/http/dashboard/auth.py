"""Who may see the dashboard: the holder of the dashboard token or of a Supabase key (bridge.http.dashboard.keys).

- ``Authorization: Bearer <token>`` works for every page and the JSON API (scripts, curl).
- A browser signs in once on /login with the same token or key; it gets a session cookie (HttpOnly,
  SameSite=Strict, signed with a key that lives only in this process) and a CSRF token for forms.
  Signing out revokes that session; "sign out everywhere" revokes every session issued so far.
- Failed credentials are throttled per client address: after `FAILURES` failures within `WINDOW_S`
  seconds every credential from that client is refused (429) until the window has passed, so the
  token cannot be guessed at network speed.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque

from bridge.http.dashboard.keys import Jwks, SecretKeys, verify_service_role_jwt, verify_signed_jwt

SESSION_COOKIE = "specgen_dashboard"
SESSION_TTL_S = 8 * 3600
FAILURES, WINDOW_S = 5, 60.0
MAX_CLIENTS = 10_000  # clients remembered by the throttle; beyond, the oldest are forgotten


class Throttle:
    def __init__(self, limit: int = FAILURES, window: float = WINDOW_S):
        self.limit, self.window = limit, window
        self._failures: dict[str, deque] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque:
        times = self._failures.get(client, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, client: str) -> float:
        """Seconds until `client` may try again (0: now)."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(client, now)
            return times[0] + self.window - now if len(times) >= self.limit else 0.0

    def failed(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            times = self._recent(client, now)
            times.append(now)
            self._failures[client] = times
            if len(self._failures) > MAX_CLIENTS:
                del self._failures[next(iter(self._failures))]


class Auth:
    def __init__(self, token: str | None = None, jwt_secret: str | None = None,
                 secret_keys: list[str] | None = None, jwks: str | None = None, throttle: Throttle | None = None):
        if not (token or jwt_secret or secret_keys or jwks):
            raise ValueError("the dashboard needs a token, the JWT secret, a Supabase secret key or a JWKS")
        self.token, self.jwt_secret = token or None, jwt_secret or None
        self.secret_keys = SecretKeys(secret_keys or [])
        self.jwks = Jwks(jwks) if jwks else None
        self.throttle = throttle or Throttle()
        self._key = os.urandom(32)  # sessions end when the process does
        self._generation = 0  # bumped by "sign out everywhere": older sessions stop working
        self._revoked: dict[str, int] = {}  # session id -> its expiry, for signed-out sessions

    def credential_ok(self, value: str | None) -> bool:
        if not value:
            return False
        value = value.strip()
        if self.token and hmac.compare_digest(value.encode(), self.token.encode()):
            return True
        if self.secret_keys and self.secret_keys.ok(value):
            return True
        if value.count(".") != 2:
            return False
        if self.jwt_secret and verify_service_role_jwt(value, self.jwt_secret):
            return True
        return bool(self.jwks) and verify_signed_jwt(value, self.jwks)

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def new_session(self) -> str:
        body = f"{self._generation}.{secrets.token_hex(8)}.{int(time.time()) + SESSION_TTL_S}"
        return f"{body}.{self._sign(body)}"

    def session_ok(self, cookie: str | None) -> bool:
        parts = (cookie or "").split(".")
        if len(parts) != 4 or not parts[0].isdigit() or not parts[2].isdigit():
            return False
        generation, sid, expiry, sig = parts
        return (hmac.compare_digest(sig, self._sign(f"{generation}.{sid}.{expiry}")) and int(expiry) > time.time()
                and int(generation) == self._generation and sid not in self._revoked)

    def revoke(self, cookie: str | None) -> None:
        """Sign one session out (its cookie no longer works, even if someone copied it)."""
        if self.session_ok(cookie):
            now = time.time()
            self._revoked = {s: e for s, e in self._revoked.items() if e > now}
            _, sid, expiry, _ = cookie.split(".")
            self._revoked[sid] = int(expiry)

    def revoke_all(self) -> None:
        """Sign out everywhere: every session issued until now stops working."""
        self._generation += 1
        self._revoked.clear()

    def csrf_token(self, cookie: str) -> str:
        return self._sign(f"csrf:{cookie}")

    def csrf_ok(self, cookie: str | None, value: str | None) -> bool:
        return bool(cookie and value) and hmac.compare_digest(self.csrf_token(cookie), value)

    def attempt(self, client: str, value: str | None) -> tuple[bool, float]:
        """(accepted, retry_after): a credential tried by `client`; refused unseen while throttled."""
        wait = self.throttle.retry_after(client)
        if wait:
            return False, wait
        if self.credential_ok(value):
            return True, 0.0
        self.throttle.failed(client)
        return False, 0.0

    def request_ok(self, request) -> tuple[bool, bool, float]:
        """(allowed, by_session, retry_after): a Bearer credential or a valid session cookie."""
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            ok, wait = self.attempt(client_of(request), header[7:])
            return ok, False, wait
        return self.session_ok(request.cookies.get(SESSION_COOKIE)), True, 0.0


def client_of(request) -> str:
    """The throttle's key: the client address (behind a local reverse proxy, uvicorn takes it from
    X-Forwarded-For; see docs/observability.md)."""
    return request.client.host if request.client else "?"
