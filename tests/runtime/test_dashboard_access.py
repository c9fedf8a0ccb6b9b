"""Who may open the dashboard: JWTs must expire, Supabase's asymmetric signing keys and secret API keys
work, guessing is throttled per client, sessions can be signed out everywhere, and a NUL byte in a URL
is a 400 rather than a 500 from PostgreSQL."""
from __future__ import annotations

import json
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from bridge.http.dashboard import Auth, create_app
from bridge.http.dashboard.auth import Throttle
from bridge.http.dashboard.keys import Jwks, parse_secret_keys, verify_service_role_jwt, verify_signed_jwt
from bridge.http.serve import ThreadedServer

pytestmark = pytest.mark.db

TOKEN = "dashboard-test-token-0123456789"
SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"
SB_SECRET = "sb_secret_" + "k" * 32


def es256_jwks(tmp_path, kid: str = "key-1"):
    """A private ES256 key and the JWKS file that publishes its public half, as Supabase serves it."""
    private = ec.generate_private_key(ec.SECP256R1())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [{**public, "kid": kid, "alg": "ES256", "use": "sig"}]}))
    return private, str(path)


def test_a_jwt_without_exp_is_refused():
    now = time.time()
    assert verify_service_role_jwt(jwt.encode({"role": "service_role", "exp": now + 60}, SECRET), SECRET)
    assert not verify_service_role_jwt(jwt.encode({"role": "service_role"}, SECRET), SECRET)
    assert not verify_service_role_jwt(jwt.encode({"role": "authenticated", "exp": now + 60}, SECRET), SECRET)


def test_asymmetric_signing_keys_from_a_jwks_are_accepted(tmp_path):
    private, path = es256_jwks(tmp_path)
    keys, now = Jwks(path), time.time()
    good = jwt.encode({"role": "service_role", "exp": now + 60}, private, algorithm="ES256", headers={"kid": "key-1"})
    assert verify_signed_jwt(good, keys)
    assert Auth(jwks=path).credential_ok(good)
    no_exp = jwt.encode({"role": "service_role"}, private, algorithm="ES256", headers={"kid": "key-1"})
    assert not verify_signed_jwt(no_exp, keys)
    stranger, _ = es256_jwks(tmp_path / "..", kid="key-1")
    forged = jwt.encode({"role": "service_role", "exp": now + 60}, stranger, algorithm="ES256", headers={"kid": "key-1"})
    assert not verify_signed_jwt(forged, keys)
    # an HS256 token is never checked against the public key, whatever its header says
    assert not verify_signed_jwt(jwt.encode({"role": "service_role", "exp": now + 60}, "x" * 32), keys)


def test_supabase_secret_api_keys_open_it_and_publishable_keys_are_refused():
    auth = Auth(secret_keys=parse_secret_keys(f"{SB_SECRET}, sb_secret_{'r' * 20}"))
    assert auth.credential_ok(SB_SECRET) and auth.credential_ok(f"sb_secret_{'r' * 20}")
    assert not auth.credential_ok("sb_secret_" + "x" * 32)
    with pytest.raises(ValueError, match="not a Supabase secret key"):
        parse_secret_keys("sb_publishable_" + "p" * 32)


@pytest.fixture
def server(db_url):
    auth = Auth(token=TOKEN, throttle=Throttle(limit=3, window=60))
    with ThreadedServer(create_app(db_url, auth)) as srv:
        yield srv


def test_a_nul_byte_in_the_path_or_query_is_a_400(server):
    with httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {TOKEN}"}, timeout=10) as http:
        assert http.get("/trace/%00").status_code == 400
        assert http.get("/dead-letters?source=%00").status_code == 400
        assert http.get("/dead-letters").status_code == 200


def test_failed_credentials_are_throttled_per_client(server):
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for _ in range(3):
            assert http.get("/api/health", headers={"authorization": "Bearer wrong-token-guess"}).status_code == 401
        throttled = http.get("/api/health", headers={"authorization": f"Bearer {TOKEN}"})
        assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) >= 1
    # another client address is not held back by the first one's guesses
    with httpx.Client(base_url=server.url, timeout=10, transport=httpx.HTTPTransport(local_address="127.0.0.2")) as http:
        assert http.get("/api/health", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_sign_out_everywhere_ends_every_session(server):
    def sign_in(http):
        r = http.post("/login", data={"token": TOKEN, "next": "/"})
        assert r.status_code == 303
        return http.cookies

    with httpx.Client(base_url=server.url, timeout=10, follow_redirects=False) as a, \
            httpx.Client(base_url=server.url, timeout=10, follow_redirects=False) as b:
        sign_in(a), sign_in(b)
        assert a.get("/").status_code == 200 and b.get("/").status_code == 200
        r = httpx.post(f"{server.url}/logout", data={"everywhere": "1"},
                       headers={"authorization": f"Bearer {TOKEN}"}, timeout=10)
        assert r.status_code == 200
        assert a.get("/").status_code != 200 and b.get("/").status_code != 200
