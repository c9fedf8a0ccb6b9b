"""Exponential backoff with full jitter: the one rule for Odoo calls (bridge.odoo.retry) and for the
queues' next attempts (bridge.store.queue), which sit side by side and share nothing else."""
from __future__ import annotations

import random


def backoff(attempt: int, base: float = 1.0, cap: float = 300.0, rng=random) -> float:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**attempt)) seconds. Used for
    Odoo calls (`RetryPolicy`) and for the queues' next attempt (outbox rows, webhook events)."""
    return rng.uniform(0, min(cap, base * 2 ** attempt))
