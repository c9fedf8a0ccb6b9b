"""The receiver's short-lived cache of instance rows (credentials and whether the instance is active)."""
from __future__ import annotations

import time

from bridge.store import inbox

# Instance rows are cached this long: a revoked token or a deactivated instance stops working within it.
CACHE_TTL_S = 0.5
CACHE_MAX = 10_000  # random ids from strangers must not grow the cache without bound


class InstanceCache:
    """`get` answers from the cache while an entry is fresh, else reads the row (None: no such instance)."""

    def __init__(self, pool: inbox.Pool, ttl: float = CACHE_TTL_S, limit: int = CACHE_MAX):
        self.pool, self.ttl, self.limit = pool, ttl, limit
        self.rows: dict[str, tuple[float, dict | None]] = {}

    async def get(self, instance_id: str) -> dict | None:
        hit = self.rows.get(instance_id)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        row = await inbox.find_instance(self.pool, instance_id)
        now = time.monotonic()
        if len(self.rows) >= self.limit:
            for key in [k for k, (expiry, _) in self.rows.items() if expiry <= now]:
                del self.rows[key]
            if len(self.rows) >= self.limit:
                self.rows.clear()
        self.rows[instance_id] = (now + self.ttl, row)
        return row
