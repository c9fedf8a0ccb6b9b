"""Who may see the dashboard: the holder of the dashboard token, or of a Supabase service-role key.

- ``Authorization: Bearer <token>`` works for every page and the JSON API (scripts, curl).
- A browser signs in once on /login with the same token or key; it gets a session cookie (HttpOnly,
  SameSite=Strict, signed with a key that lives only in this process) and a CSRF token for forms.

The service-role key is a JWT (HS256, signed with the project's JWT secret) whose ``role`` claim is
``service_role``. Verifying HS256 takes a dozen lines of hmac and base64 from the standard library, so
there is no JWT library here: other algorithms (and ``none``) are refused outright.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time

import orjson

SESSION_COOKIE = "specgen_dashboard"
SESSION_TTL_S = 8 * 3600


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_service_role_jwt(token: str, secret: str, now: float | None = None) -> bool:
    """True for an unexpired HS256 JWT signed with `secret` whose role claim is service_role."""
    parts = token.split(".")
    if len(parts) != 3 or not secret:
        return False
    try:
        header = orjson.loads(_b64url(parts[0]))
        payload = orjson.loads(_b64url(parts[1]))
        signature = _b64url(parts[2])
    except (ValueError, orjson.JSONDecodeError):
        return False
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(payload, dict):
        return False
    expected = hmac.new(secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        return False
    exp = payload.get("exp")
    if exp is not None and (not isinstance(exp, (int, float)) or exp <= (now or time.time())):
        return False
    return payload.get("role") == "service_role"


class Auth:
    def __init__(self, token: str | None = None, jwt_secret: str | None = None):
        if not token and not jwt_secret:
            raise ValueError("the dashboard needs a token or the JWT secret that signs the service-role key")
        self.token, self.jwt_secret = token or None, jwt_secret or None
        self._key = os.urandom(32)  # sessions end when the process does

    def credential_ok(self, value: str | None) -> bool:
        if not value:
            return False
        value = value.strip()
        if self.token and hmac.compare_digest(value.encode(), self.token.encode()):
            return True
        return bool(self.jwt_secret) and verify_service_role_jwt(value, self.jwt_secret)

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def new_session(self) -> str:
        expiry = int(time.time()) + SESSION_TTL_S
        return f"{expiry}.{self._sign(str(expiry))}"

    def session_ok(self, cookie: str | None) -> bool:
        if not cookie or "." not in cookie:
            return False
        expiry, sig = cookie.split(".", 1)
        return expiry.isdigit() and int(expiry) > time.time() and hmac.compare_digest(sig, self._sign(expiry))

    def csrf_token(self, cookie: str) -> str:
        return self._sign(f"csrf:{cookie}")

    def csrf_ok(self, cookie: str | None, value: str | None) -> bool:
        return bool(cookie and value) and hmac.compare_digest(self.csrf_token(cookie), value)

    def request_ok(self, request) -> tuple[bool, bool]:
        """(allowed, by_session): a Bearer credential or a valid session cookie."""
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            return self.credential_ok(header[7:]), False
        return self.session_ok(request.cookies.get(SESSION_COOKIE)), True
