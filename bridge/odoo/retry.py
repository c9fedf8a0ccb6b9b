"""How the Odoo client retries a transient error: `RetryPolicy`, backoff with full jitter honouring Retry-After."""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from bridge.backoff import backoff
from bridge.odoo.errors import OdooError


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
