"""Who may deliver to an instance: the holder of its URL token, or a signing proxy with its HMAC key."""
from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from starlette.datastructures import Headers

from bridge.settings import Settings
from bridge.store import db

HMAC_ENV = "SPECGEN_WEBHOOK_HMAC_SECRET"


def token_ok(inst: dict, token: str) -> bool:
    """The URL token against the instance's stored hash, in constant time."""
    expected = (inst.get("webhook_token_hash") or "").lower()
    given = db.webhook_token_hash(token)
    return bool(expected) and hmac.compare_digest(given, expected)


@dataclass
class Credentials:
    """`settings`: where the HMAC keys are looked up by name (the instance's own, else `hmac_secret_env`);
    `window`: how many seconds a signature's timestamp may be off."""
    settings: Settings
    hmac_secret_env: str = HMAC_ENV
    window: int = 300

    def check(self, inst: dict | None, token: str | None, headers: Headers, body: bytes,
              key: str | None) -> tuple[bool, str | None]:
        """(authenticated, the Idempotency-Key to keep): a key the signature does not cover is dropped."""
        if inst is None or not inst["active"]:
            return False, key
        if token is not None:
            return token_ok(inst, token), key
        authed, key_signed = self.signature_ok(inst, headers, body, key)
        return authed, key if key_signed else None

    def signature_ok(self, inst: dict, headers: Headers, body: bytes, key: str | None) -> tuple[bool, bool]:
        """(signed, key_signed). The signature covers "<timestamp>.<body>", or, to make an
        Idempotency-Key count, "<timestamp>.<key>\n<body>". A key the signature does not cover is
        ignored (the key comes from the body), else a captured delivery could be stored again within
        the window under a new key. The two forms cannot be confused: a raw newline in JSON is only
        whitespace inside the object, so what follows it is never a whole JSON object."""
        secret = self.settings.secret(inst.get("webhook_hmac_secret_ref") or self.hmac_secret_env) or ""
        ts, sig = headers.get("x-specgen-timestamp", ""), headers.get("x-specgen-signature", "")
        # ASCII digits only (isdigit() alone takes "²", which int() refuses), and few enough for int()
        # (it refuses over 4300 digits); more than 18 significant ones are never within the window
        if not secret or not (ts.isascii() and ts.isdigit()) or not sig.startswith("sha256="):
            return False, False
        if len(ts.lstrip("0")) > 18 or abs(time.time() - int(ts.lstrip("0") or "0")) > self.window:
            return False, False
        given = sig[len("sha256="):].lower().encode()  # bytes: compare_digest refuses non-ASCII str

        def mac(message: bytes) -> bytes:
            return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest().encode()
        if key is not None and hmac.compare_digest(mac(ts.encode() + b"." + key.encode() + b"\n" + body), given):
            return True, True
        return hmac.compare_digest(mac(ts.encode() + b"." + body), given), False
