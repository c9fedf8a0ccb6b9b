"""A model's table as one writing transaction sees it (the snapshot plus its own changes).

Re-exported by ``orm``; ``orm_write.WritableEnv.commit`` publishes the changes.
"""
from __future__ import annotations

import itertools
from collections.abc import MutableMapping

_MISSING = object()
DELETED = object()  # a TableView change: the record is deleted in this transaction


class TableView(MutableMapping):
    """One model's table as a writing transaction sees it: the snapshot's dict (never changed) plus
    this transaction's own changes (``changes``: id -> its private record dict, or DELETED)."""

    __slots__ = ("base", "changes")

    def __init__(self, base: dict):
        self.base = base
        self.changes: dict = {}

    def __getitem__(self, rid):
        v = self.changes.get(rid, _MISSING)
        if v is _MISSING:
            return self.base[rid]
        if v is DELETED:
            raise KeyError(rid)
        return v

    def get(self, rid, default=None):
        v = self.changes.get(rid, _MISSING)
        if v is _MISSING:
            return self.base.get(rid, default)
        return default if v is DELETED else v

    def __contains__(self, rid) -> bool:
        v = self.changes.get(rid, _MISSING)
        return rid in self.base if v is _MISSING else v is not DELETED

    def __setitem__(self, rid, rec) -> None:
        self.changes[rid] = rec

    def __delitem__(self, rid) -> None:
        if rid not in self:
            raise KeyError(rid)
        self.changes[rid] = DELETED

    def __iter__(self):
        changes = self.changes
        if not changes:
            return iter(self.base)
        base = self.base
        return itertools.chain((i for i in base if changes.get(i, _MISSING) is not DELETED),
                               (i for i, v in changes.items() if v is not DELETED and i not in base))

    def __len__(self) -> int:
        return len(self.base) if not self.changes else sum(1 for _ in self)

    def items(self):
        if not self.changes:
            return self.base.items()
        return [(i, self[i]) for i in self]

    def values(self):
        if not self.changes:
            return self.base.values()
        return [self[i] for i in self]

