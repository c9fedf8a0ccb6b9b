"""`create_app`: the receiver's routes over one `Receiver` (bridge.http.receiver.handlers)."""
from __future__ import annotations

import contextlib

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bridge.http.receiver.auth import HMAC_ENV, Credentials
from bridge.http.receiver.handlers import MAX_BODY, Receiver
from bridge.http.receiver.instances import CACHE_TTL_S, InstanceCache
from bridge.observe import metrics
from bridge.settings import Settings
from bridge.store import inbox


def _lifespan(pool: inbox.Pool):
    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        await pool.close()
    return lifespan


async def metrics_endpoint(request: Request) -> Response:
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE_LATEST)


def create_app(database_url: str, *, max_body: int = MAX_BODY, hmac_secret_env: str = HMAC_ENV,
               settings: Settings | None = None, window: int = 300, pool_size: int = 4,
               cache_ttl: float = CACHE_TTL_S) -> Starlette:
    """`settings`: where the HMAC keys are looked up by name (none given: no key, so signatures fail)."""
    pool = inbox.Pool(database_url, pool_size)
    receiver = Receiver(pool, inbox.GroupInsert(pool), InstanceCache(pool, cache_ttl),
                        Credentials(settings or Settings(), hmac_secret_env, window), max_body)
    return Starlette(middleware=[Middleware(metrics.HttpRequests)], routes=[
        Route("/webhooks/odoo/{instance_id}/{token}", receiver.receive, methods=["POST"]),
        Route("/webhooks/odoo/{instance_id}", receiver.receive, methods=["POST"]),
        Route("/health", receiver.health, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ], lifespan=_lifespan(pool))
