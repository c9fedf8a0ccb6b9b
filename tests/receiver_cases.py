"""The webhook receiver's contract as data, run against both runtimes: the Python receiver (`specgen webhooks
serve`, tests/runtime/test_webhooks.py) and the webhook-receiver Edge Function (tests/functions/test_receiver.py).

`BAD` is every bad input with the answer it gets (status and exact body) and nothing stored; `ACCEPTED` is
the odd but valid deliveries whose stored rows must be the same whichever runtime stores them. Each case gets
an instance of its own (`add_instance`), so a case's `setup` SQL touches only that instance."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field

import httpx
import orjson
from hypothesis import strategies as st

from bridge.store.db import connect
from tests.runtime.support import WEBHOOK_TOKEN, add_instance

MAX_BODY = 256 * 1024  # the receivers' default (`webhooks serve --max-body`); the function's only one
HMAC_ENV = {"SPECGEN_WEBHOOK_HMAC_SECRET": "proxy-secret", "ACME_WEBHOOK_KEY": "acme-key"}
EVENT = {"_action": "Send Webhook Notification(#2)", "_id": 7, "_model": "res.partner", "id": 7,
         "name": "Azure", "write_date": "2024-05-01 10:00:00"}
TOKEN_PATH = "/webhooks/odoo/{id}/{token}"
SIGNED_PATH = "/webhooks/odoo/{id}"

UNAUTHORIZED = {"error": "unknown instance or bad credentials"}
NO_INSTANCE = {"error": "no such instance"}
NOT_JSON = {"error": "body is not valid JSON"}
TOO_LARGE = {"error": f"body larger than {MAX_BODY} bytes"}
NOT_JSON_TYPE = {"error": "Content-Type must be application/json"}
UNSTORABLE = {"error": "event could not be stored as given (bad characters?)"}


def schema(reason: str) -> dict:
    return {"error": f"event does not match the schema: {reason}"}


def event(**fields) -> bytes:
    """EVENT with `fields` changed (None: removed), as JSON."""
    return orjson.dumps({k: v for k, v in {**EVENT, **fields}.items() if v is not None})


def raw(text: str) -> bytes:
    """An event written by hand (what orjson.dumps cannot write: 7.0, NaN, escapes, duplicate keys)."""
    return text.encode()


@dataclass(frozen=True)
class Sign:
    """How a signing proxy signs: `key` is the Idempotency-Key the signature covers; `age` how old the
    timestamp is; `timestamp` a header value to send instead of the time; `zeros` leading zeros before
    the time (the sending time: a case list made at import must not go stale in a long run); `prefix`
    the scheme."""
    secret: bytes = b"proxy-secret"
    key: str | None = None
    age: int = 0
    timestamp: bytes | None = None
    zeros: int = 0
    prefix: bytes = b"sha256="


@dataclass(frozen=True)
class Case:
    name: str
    status: int = 202
    answer: dict | str | None = None  # the exact body (a str: plain text); None for a 202 (checked apart)
    body: bytes = field(default_factory=lambda: orjson.dumps(EVENT))
    path: str = TOKEN_PATH  # {id}, {ID} (upper case), {hex} (no hyphens), {token}
    content_type: bytes | None = b"application/json"
    headers: tuple[tuple[str, bytes], ...] = ()
    sign: Sign | None = None
    chunked: bool = False
    method: str = "POST"
    setup: str | None = None  # SQL run first; %s is the case's instance id
    random_key: bool = False  # the stored key is random (no write_date, not signed)

    def __str__(self) -> str:
        return self.name

    def request(self, instance_id: str, now: int) -> tuple[str, list[tuple[str, bytes]], bytes]:
        """(path, headers, body) for an instance, signed at `now` when the case signs."""
        iid = str(instance_id)
        path = self.path.format(id=iid, ID=iid.upper(), hex=iid.replace("-", ""), token=WEBHOOK_TOKEN)
        headers = [("Content-Type", self.content_type)] if self.content_type is not None else []
        if self.sign is not None:
            s = self.sign
            ts = s.timestamp if s.timestamp is not None else b"0" * s.zeros + str(now - s.age).encode()
            message = ts + b"." + (s.key.encode() + b"\n" if s.key is not None else b"") + self.body
            sig = hmac.new(s.secret, message, hashlib.sha256).hexdigest().encode()
            headers += [("X-Specgen-Timestamp", ts), ("X-Specgen-Signature", s.prefix + sig)]
        return path, headers + list(self.headers), self.body


def nested(depth: int) -> bytes:
    """An event whose deepest value is `depth` arrays and objects down (the event itself is one)."""
    inner = depth - 1
    return b'{"_model": "res.partner", "_id": 7, "x": ' + b"[" * inner + b"]" * inner + b"}"


OWN_KEY = "update odoo.instances set webhook_hmac_secret_ref = '{}' where id = %s"
BAD = [
    Case("wrong token", 401, UNAUTHORIZED, path="/webhooks/odoo/{id}/nope"),
    Case("unknown instance", 401, UNAUTHORIZED, path="/webhooks/odoo/00000000-0000-0000-0000-000000000000/{token}"),
    Case("not a uuid", 404, NO_INSTANCE, path="/webhooks/odoo/xyz/{token}"),
    Case("urn uuid", 404, NO_INSTANCE, path="/webhooks/odoo/urn:uuid:{id}/{token}"),
    Case("braced uuid", 404, NO_INSTANCE, path="/webhooks/odoo/{{{id}}}/{token}"),
    Case("uuid without hyphens", 404, NO_INSTANCE, path="/webhooks/odoo/{hex}/{token}"),
    Case("uuid with a suffix", 404, NO_INSTANCE, path="/webhooks/odoo/{id}x/{token}"),
    Case("inactive instance", 401, UNAUTHORIZED, setup="update odoo.instances set active = false where id = %s"),
    Case("instance without a token", 401, UNAUTHORIZED,
         setup="update odoo.instances set webhook_token_hash = null where id = %s"),
    Case("text/plain", 415, NOT_JSON_TYPE, content_type=b"text/plain"),
    Case("no content type", 415, NOT_JSON_TYPE, content_type=None),
    Case("json-like content type", 415, NOT_JSON_TYPE, content_type=b"application/json-patch+json"),
    Case("too large", 413, TOO_LARGE, body=event(comment="x" * MAX_BODY)),
    Case("too large, chunked", 413, TOO_LARGE, body=event(comment="x" * MAX_BODY), chunked=True),
    Case("not json", 400, NOT_JSON, body=b"{nope"),
    Case("empty body", 400, NOT_JSON, body=b""),
    Case("byte order mark", 400, NOT_JSON, body=b"\xef\xbb\xbf" + event()),
    Case("invalid utf-8", 400, NOT_JSON, body=b'{"_model": "res.partner", "_id": 7, "name": "\xff"}'),
    Case("encoded surrogate", 400, NOT_JSON, body=b'{"_model": "res.partner", "_id": 7, "name": "\xed\xa0\x80"}'),
    Case("lone surrogate escape", 400, NOT_JSON, body=raw('{"_model": "res.partner", "_id": 7, "name": "\\ud800"}')),
    Case("lone surrogate in a key", 400, NOT_JSON, body=raw('{"_model": "res.partner", "_id": 7, "\\udc00": 1}')),
    Case("infinite number", 400, NOT_JSON, body=raw('{"_model": "res.partner", "_id": 7, "x": 1e400}')),
    Case("too deep", 400, NOT_JSON, body=nested(1025)),
    Case("trailing garbage", 400, NOT_JSON, body=event() + b"x"),
    Case("NaN", 400, NOT_JSON, body=raw('{"_model": "res.partner", "_id": NaN}')),
    Case("schema", 400, schema("data._id must be integer"), body=orjson.dumps({"_model": "res.partner", "_id": "seven"})),
    Case("array", 400, schema("data must be object"), body=orjson.dumps([EVENT])),
    Case("empty object", 400, schema("data must contain ['_id', '_model'] properties"), body=b"{}"),
    Case("no model", 400, schema("data must contain ['_model'] properties"), body=event(_model=None)),
    Case("id zero", 400, schema("data._id must be bigger than or equal to 1"), body=event(_id=0)),
    Case("id too large", 400, schema("data._id must be smaller than or equal to 2147483647"), body=event(_id=2**31)),
    Case("id true", 400, schema("data._id must be integer"), body=event(_id=True)),
    Case("id with a fraction", 400, schema("data._id must be integer"), body=event(_id=7.5)),
    Case("model pattern", 400, schema("data._model must match pattern ^[a-z][a-z0-9_]*(\\.[a-z0-9_]+)*$"),
         body=event(_model="Res.Partner")),
    Case("model with a trailing newline", 400, schema("data._model must match pattern ^[a-z][a-z0-9_]*(\\.[a-z0-9_]+)*$"),
         body=event(_model="res.partner\n")),
    Case("model too long", 400, schema("data._model must be shorter than or equal to 128 characters"),
         body=event(_model="a" * 129)),
    Case("model checked before id", 400, schema("data._model must be string"), body=event(_model=5, _id="x")),
    Case("write_date not a date", 400, schema("data.write_date must be valid exactly by one definition (0 matches found)"),
         body=event(write_date="yesterday")),
    Case("write_date true", 400, schema("data.write_date must be valid exactly by one definition (0 matches found)"),
         body=event(write_date=True)),
    Case("write_date zero", 400, schema("data.write_date must be valid exactly by one definition (0 matches found)"),
         body=event(write_date=0)),
    Case("id field not an integer", 400, schema("data.id must be integer"), body=event(id="x")),
    Case("action too long", 400, schema("data._action must be shorter than or equal to 200 characters"),
         body=event(_action="x" * 201)),
    Case("replay_of with a fraction", 400, schema("data._replay_of must be integer"), body=event(_replay_of=1.5)),
    Case("NUL character", 400, UNSTORABLE, body=raw('{"_model": "res.partner", "_id": 5, "name": "nul \\u0000 here"}')),
    Case("unsigned", 401, UNAUTHORIZED, path=SIGNED_PATH),
    Case("stale signature", 401, UNAUTHORIZED, path=SIGNED_PATH, sign=Sign(age=3600)),
    Case("signature from the future", 401, UNAUTHORIZED, path=SIGNED_PATH, sign=Sign(age=-3600)),
    Case("wrong secret", 401, UNAUTHORIZED, path=SIGNED_PATH, sign=Sign(secret=b"wrong")),
    Case("timestamp not digits", 401, UNAUTHORIZED, path=SIGNED_PATH, sign=Sign(timestamp=b"12a")),
    Case("timestamp a superscript digit", 401, UNAUTHORIZED, path=SIGNED_PATH, sign=Sign(timestamp=b"\xb2")),
    Case("timestamp of 5000 digits", 401, UNAUTHORIZED, path=SIGNED_PATH, sign=Sign(timestamp=b"9" * 5000)),
    Case("signature without its scheme", 401, UNAUTHORIZED, path=SIGNED_PATH, sign=Sign(prefix=b"")),
    Case("signature with a non-ASCII byte", 401, UNAUTHORIZED, path=SIGNED_PATH, sign=Sign(prefix=b"sha256=\xe9")),
    Case("signature over another key", 401, UNAUTHORIZED, path=SIGNED_PATH, sign=Sign(key="proxy-42"),
         headers=(("Idempotency-Key", b"proxy-43"),)),
    Case("shared key for an instance with its own", 401, UNAUTHORIZED, path=SIGNED_PATH, sign=Sign(),
         setup=OWN_KEY.format("ACME_WEBHOOK_KEY")),
    Case("own key unset", 401, UNAUTHORIZED, path=SIGNED_PATH, sign=Sign(), setup=OWN_KEY.format("UNSET_WEBHOOK_KEY")),
    Case("unknown route", 404, "Not Found", path="/webhooks/odoo"),
    Case("GET on a delivery route", 405, "Method Not Allowed", method="GET"),
]

TRACE = "0af7651916cd43dd8448eb211c80319c"
ACCEPTED = [
    Case("plain event"),
    Case("charset", content_type=b"application/json; charset=utf-8"),
    Case("upper-case content type", content_type=b"APPLICATION/JSON"),
    Case("content type with spaces and parameters", content_type=b"application/json \x85\xa0; x=y"),
    Case("upper-case instance id", path="/webhooks/odoo/{ID}/{token}"),
    Case("id written as a float", body=raw('{"_model": "res.partner", "_id": 7.0, "write_date": "2024-05-01 10:00:00"}')),
    Case("id with an exponent", body=raw('{"_model": "res.partner", "_id": 7e0, "write_date": "2024-05-01 10:00:00"}')),
    Case("write_date false", body=event(write_date=False), random_key=True),
    Case("no fields", body=orjson.dumps({"_action": "Send Webhook Notification(#2)", "_id": 7, "_model": "res.partner"}),
         random_key=True),
    Case("write_date in Arabic-Indic digits", body=event(write_date="٢٠٢٤-٠٥-٠١ ١٠:٠٠:٠٠")),
    Case("write_date with microseconds", body=event(write_date="2024-05-01 10:00:00.123456")),
    Case("action of 150 emoji", body=event(_action="😀" * 150)),
    Case("duplicate keys", body=raw('{"_id": "x", "_model": "res.partner", "_id": 8, "write_date": "2024-05-01 10:00:00"}')),
    Case("non-ASCII values", body=event(name="Zoë Ünal 😀", city="Łódź")),
    Case("escapes", body=raw('{"_model": "res.partner", "_id": 7, "name": "\\u00e9\\ud83d\\ude00\\n\\"", '
                             '"write_date": "2024-05-01 10:00:00"}')),
    Case("whitespace around", body=b" \n\t" + event() + b"\r\n"),
    Case("huge replay_of", body=raw('{"_model": "res.partner", "_id": 7, "_replay_of": 123456789012345678901234567890, '
                                    '"write_date": "2024-05-01 10:00:00"}')),
    Case("tiny number", body=raw('{"_model": "res.partner", "_id": 7, "x": 1e-400, "write_date": "2024-05-01 10:00:00"}')),
    Case("1024 levels deep", body=nested(1024), random_key=True),
    Case("Idempotency-Key", headers=(("Idempotency-Key", b"abc"),)),
    Case("X-Idempotency-Key", headers=(("X-Idempotency-Key", b"x-abc"),)),
    Case("long Idempotency-Key", headers=(("Idempotency-Key", b"k" * 250),)),
    Case("latin-1 Idempotency-Key", headers=(("Idempotency-Key", b"caf\xe9"),)),
    Case("traceparent", headers=(("traceparent", f"00-{TRACE}-b7ad6b7169203331-01".encode()),)),
    Case("long X-Trace-Id", headers=(("X-Trace-Id", b"t" * 100),)),
    Case("signed", path=SIGNED_PATH, sign=Sign()),
    Case("signed, unsigned key dropped", path=SIGNED_PATH, sign=Sign(), headers=(("Idempotency-Key", b"replay-1"),)),
    Case("signed key", path=SIGNED_PATH, sign=Sign(key="proxy-42"), headers=(("Idempotency-Key", b"proxy-42"),)),
    Case("signed, no write_date", path=SIGNED_PATH, sign=Sign(), body=event(write_date=None)),
    Case("signed with the instance's own key", path=SIGNED_PATH, sign=Sign(secret=b"acme-key"),
         setup=OWN_KEY.format("ACME_WEBHOOK_KEY")),
    Case("signed, timestamp with leading zeros", path=SIGNED_PATH,
         sign=Sign(zeros=3)),
]


def count_events(db_url: str) -> int:
    with connect(db_url) as conn:
        return conn.execute("select count(*) as n from odoo.webhook_events").fetchone()["n"]


def instance_for(db_url: str, case: Case) -> dict:
    """A fresh instance for the case, set up as it says."""
    inst = add_instance(db_url, "http://127.0.0.1:9", name=case.name[:60])
    if case.setup:
        with connect(db_url) as conn:
            conn.execute(case.setup, (inst["id"],))
    return inst


def send(base_url: str, case: Case, instance_id, now: int | None = None, extra: tuple = (),
         prefix: str = "") -> httpx.Response:
    path, headers, body = case.request(instance_id, now or int(time.time()))
    content = iter([body]) if case.chunked else body
    return httpx.request(case.method, base_url + prefix + path, content=content, headers=headers + list(extra),
                         timeout=30)


def check_bad(base_url: str, db_url: str, case: Case, prefix: str = "") -> None:
    """The bad input gets its status and body, stores nothing, and is not counted as an outage."""
    inst = instance_for(db_url, case)
    before = count_events(db_url)
    r = send(base_url, case, inst["id"], prefix=prefix)
    assert r.status_code == case.status, (r.status_code, r.text)
    if isinstance(case.answer, dict):
        assert r.headers["content-type"] == "application/json" and r.json() == case.answer
    else:
        assert r.text == case.answer
    assert count_events(db_url) == before
    health = httpx.get(f"{base_url}{prefix}/health", timeout=30).json()
    assert health["database"] == "up" and health["unavailable"] == 0


# Whatever bytes arrive (tests/runtime/test_webhooks.py and the function's test): 202 or a 4xx, never a 5xx.
JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                       lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                       max_leaves=10)
EVENTISH = st.fixed_dictionaries({"_model": st.text(max_size=30) | st.just("res.partner"), "_id": JSONISH},
                                 optional={"write_date": JSONISH, "name": JSONISH})
BODIES = st.binary(max_size=300) | (JSONISH | EVENTISH).map(lambda v: json.dumps(v).encode())
CONTENT_TYPES = st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", ""])
