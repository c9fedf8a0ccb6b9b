"""What a sync write needs to know (`Context`)."""
from __future__ import annotations

from dataclasses import dataclass, field

from bridge.odoo.client import OdooClient


@dataclass
class Context:
    """What a write needs: the instance, every adapter, an Odoo client (only the fetching of missing
    targets uses it, `bridge.sync.upsert`) and the trace id."""

    instance: dict
    adapters: dict
    client: OdooClient | None
    trace_id: str
    counts: dict = field(default_factory=dict)
    source: str = "pull"
    # Odoo-owned mirrors already map (instance_id, odoo_id) -> id in their own unique key; a copy in
    # odoo.entity_mappings costs ~45% of the bulk write and as much disk again, so it is off unless the
    # caller turns it on. Shared entities always write theirs (synced_values).
    mirror_mappings: bool = False

    def bump(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n
