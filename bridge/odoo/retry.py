"""Backoff with full jitter, for Odoo calls (`RetryPolicy`) and for the queues' next attempts."""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from bridge.odoo.errors import OdooError


def backoff(attempt: int, base: float = 1.0, cap: float = 300.0, rng=random) -> float:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**attempt)) seconds. Used for
    Odoo calls (`RetryPolicy`) and for the queues' next attempt (outbox rows, webhook events)."""
    return rng.uniform(0, min(cap, base * 2 ** attempt))


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter (`backoff`), honouring Retry-After."""

    attempts: int = 6
    base: float = 0.1
    cap: float = 5.0
    retry_after_cap: float = 30.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, error: OdooError) -> float:
        jitter = backoff(attempt, self.base, self.cap, self.rng)
        if error.retry_after is not None:
            return min(self.retry_after_cap, error.retry_after) + jitter * 0.1
        return jitter
