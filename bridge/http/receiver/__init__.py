"""Webhook receiver (starlette ASGI): authenticates Odoo notifications and stores each event once.

Routes:
- ``POST /webhooks/odoo/{instance_id}/{token}``: the secret URL token, compared in constant time
  with ``odoo.instances.webhook_token_hash`` (sha256 hex of the token). Odoo 17 signs nothing, so
  this is what its automation rule calls.
- ``POST /webhooks/odoo/{instance_id}``: for a signing proxy: ``X-Specgen-Timestamp`` (unix seconds)
  and ``X-Specgen-Signature: sha256=<hex HMAC-SHA256 of "timestamp.body">``, within ``window`` seconds;
  the key is the value of the environment variable the instance names
  (``odoo.instances.webhook_hmac_secret_ref``); for an instance that names none, the receiver's shared
  key (the variable named by ``hmac_secret_env``). An instance with its own key never accepts the
  shared one, so one tenant's signing proxy cannot sign for another tenant's instance.
- ``GET /health``.
- ``GET /metrics``: Prometheus exposition (docs/observability.md).

Answers: 202 accepted (also for a duplicate, which stores nothing), 400 bad JSON / schema,
404 an instance id that is not a canonical UUID, 401 bad auth (also an unknown instance), 413 body too large, 415 not JSON, 503 when the database is down (nothing was
acknowledged, so Odoo or the proxy may retry; the periodic pull catches up anyway). Never a 5xx for
bad input. The event is acknowledged only after its INSERT committed.

Modules: `app` assembles the routes, `handlers` answers them, `auth` checks the token or signature,
`instances` caches the instance rows; the SQL and the connection pool are in `bridge.store.inbox`.
"""
from bridge.http.receiver.app import create_app
from bridge.http.receiver.auth import HMAC_ENV
from bridge.http.receiver.handlers import CANONICAL_UUID, MAX_BODY, TooLarge
from bridge.http.receiver.instances import CACHE_MAX, CACHE_TTL_S

__all__ = ["CACHE_MAX", "CACHE_TTL_S", "CANONICAL_UUID", "HMAC_ENV", "MAX_BODY", "TooLarge", "create_app"]
