"""The credentials that open the dashboard, besides its own token: Supabase's keys.

- the legacy ``service_role`` key: a JWT signed HS256 with the project's JWT secret;
- a JWT signed with one of the project's asymmetric signing keys (ES256 or RS256), whose public keys
  come from a JWKS: the project's ``https://<ref>.supabase.co/auth/v1/.well-known/jwks.json`` or a file;
- a new secret API key (``sb_secret_...``): opaque, so the dashboard is given the key itself (one or
  more, for rotation) and compares digests in constant time.

Every JWT must carry ``role: service_role`` and an ``exp`` in the future; verification is PyJWT's, and
each path allows only its own algorithms, so an HS256 token can never be checked against a public key.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
from pathlib import Path

import httpx
import jwt

ASYMMETRIC = ("ES256", "RS256")
SECRET_KEY_PREFIX = "sb_secret_"
_OPTIONS = {"verify_exp": False, "verify_aud": False, "verify_iat": False, "require": ["exp"]}


def _claims_ok(claims: dict, now: float | None) -> bool:
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)) or exp <= (now or time.time()):
        return False
    return claims.get("role") == "service_role"


def verify_service_role_jwt(token: str, secret: str, now: float | None = None) -> bool:
    """True for an HS256 JWT signed with `secret`, role service_role, with an unexpired exp."""
    if not secret or not token:
        return False
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options=_OPTIONS)
    except jwt.PyJWTError:
        return False
    return _claims_ok(claims, now)


class Jwks:
    """Public signing keys from a URL or a file, cached for `ttl` seconds; an unknown `kid` refetches
    at most once per `min_refresh` seconds, so strangers' tokens cannot make the dashboard hammer it."""

    def __init__(self, source: str, ttl: float = 300.0, min_refresh: float = 30.0):
        self.source, self.ttl, self.min_refresh = source, ttl, min_refresh
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched = float("-inf")
        self._lock = threading.Lock()

    def _load(self) -> dict[str | None, jwt.PyJWK]:
        if re.match(r"https?://", self.source):
            response = httpx.get(self.source, timeout=5)
            response.raise_for_status()
            text = response.text
        else:
            text = Path(self.source).read_text()
        keys = [k for k in jwt.PyJWKSet.from_json(text).keys if k.algorithm_name in ASYMMETRIC]
        found: dict[str | None, jwt.PyJWK] = {k.key_id: k for k in keys}
        if len(keys) == 1:
            found[None] = keys[0]  # a token without kid may use the only key
        return found

    def key(self, kid: str | None) -> jwt.PyJWK | None:
        with self._lock:
            age = time.monotonic() - self._fetched
            if age > self.ttl or (kid not in self._keys and age > self.min_refresh):
                try:
                    self._keys = self._load()
                except (OSError, httpx.HTTPError, jwt.PyJWTError, ValueError):
                    pass  # keep what we had; a token signed with an unknown key is refused
                self._fetched = time.monotonic()
            return self._keys.get(kid)


def verify_signed_jwt(token: str, jwks: Jwks, now: float | None = None) -> bool:
    """True for an ES256/RS256 JWT signed by a key of `jwks`, role service_role, unexpired exp."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return False
    alg = header.get("alg")
    if alg not in ASYMMETRIC:
        return False
    key = jwks.key(header.get("kid"))
    if key is None or key.algorithm_name != alg:
        return False
    try:
        claims = jwt.decode(token, key.key, algorithms=[alg], options=_OPTIONS)
    except jwt.PyJWTError:
        return False
    return _claims_ok(claims, now)


def parse_secret_keys(text: str | None) -> list[str]:
    """`sb_secret_...` keys separated by commas or whitespace. Anything else is refused: above all a
    publishable key (``sb_publishable_...``), which is public by design."""
    keys = [k for k in re.split(r"[\s,]+", text or "") if k]
    bad = [k[:14] + "..." for k in keys if not k.startswith(SECRET_KEY_PREFIX) or len(k) < len(SECRET_KEY_PREFIX) + 16]
    if bad:
        raise ValueError(f"not a Supabase secret key (sb_secret_... with at least 16 more characters): {', '.join(bad)}")
    return keys


class SecretKeys:
    def __init__(self, keys: list[str]):
        self._digests = [hashlib.sha256(k.encode()).digest() for k in keys]

    def __bool__(self) -> bool:
        return bool(self._digests)

    def ok(self, value: str) -> bool:
        if not value.startswith(SECRET_KEY_PREFIX):
            return False
        given = hashlib.sha256(value.encode()).digest()
        return any([hmac.compare_digest(given, d) for d in self._digests])  # every key compared, always
