"""Conflict policies for shared entities, as pure functions.

Three versions of a record meet: ``base`` (the values both sides agreed on at the last sync, kept in
``odoo.entity_mappings.synced_values``), ``local`` (the app row now) and ``remote`` (Odoo now).
`resolve` returns the values both sides must end up with, and which of them Odoo still lacks.

- ``odoo_wins``: Odoo's values, always.
- ``app_wins``: if the app changed anything since the base, the app's values; otherwise Odoo's.
- ``last_write_wins``: when both changed since the base, the later write wins, by timestamps
  (app ``updated_at`` vs Odoo ``write_date``); within ``skew`` seconds of each other the clocks
  cannot be trusted and Odoo, the system of record, wins. When only one side changed, it wins.
- ``field_merge``: field by field against the base: a field changed on one side only takes that
  side's value; a field changed on both sides to different values takes Odoo's (``tie``).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

POLICIES = ("odoo_wins", "app_wins", "last_write_wins", "field_merge")
DEFAULT_SKEW = dt.timedelta(seconds=2)


@dataclass(frozen=True)
class Resolution:
    values: dict  # what both sides must hold
    to_push: dict = field(default_factory=dict)  # fields Odoo lacks (values differ from remote)
    to_local: dict = field(default_factory=dict)  # fields the app lacks (values differ from local)
    winner: str = "odoo"  # odoo | app | merged


def _changed(a: dict, b: dict | None, keys) -> set:
    if b is None:
        return set(keys)
    return {k for k in keys if a.get(k) != b.get(k)}


def resolve(policy: str, base: dict | None, local: dict | None, remote: dict, *,
            local_ts: dt.datetime | None = None, remote_ts: dt.datetime | None = None,
            skew: dt.timedelta = DEFAULT_SKEW, tie: str = "odoo") -> Resolution:
    if policy not in POLICIES:
        raise ValueError(f"unknown conflict policy {policy!r}; expected one of {', '.join(POLICIES)}")
    keys = sorted(set(remote) | set(local or {}) | set(base or {}))
    if local is None:  # a record the app does not have yet
        return Resolution(dict(remote), {}, dict(remote), "odoo")
    local_changed = _changed(local, base, keys) if base is not None else set()
    remote_changed = _changed(remote, base, keys) if base is not None else set()
    if base is None:  # never synced together (linked by external reference): treat every difference as a conflict
        local_changed = remote_changed = _changed(local, remote, keys)

    if policy == "odoo_wins":
        values, winner = {k: remote.get(k) for k in keys}, "odoo"
    elif policy == "app_wins":
        app = bool(local_changed)
        values, winner = ({k: local.get(k) for k in keys}, "app") if app else ({k: remote.get(k) for k in keys}, "odoo")
    elif policy == "last_write_wins":
        if local_changed and not remote_changed:
            app = True
        elif remote_changed and not local_changed:
            app = False
        elif not local_changed and not remote_changed:
            app = False
        else:
            app = bool(local_ts and remote_ts and local_ts > remote_ts + skew)
        values, winner = ({k: local.get(k) for k in keys}, "app") if app else ({k: remote.get(k) for k in keys}, "odoo")
    else:  # field_merge
        values, sides = {}, set()
        for k in keys:
            lc, rc = k in local_changed, k in remote_changed
            if lc and not rc:
                values[k] = local.get(k)
                sides.add("app")
            elif lc and rc and local.get(k) != remote.get(k) and tie == "app":
                values[k] = local.get(k)
                sides.add("app")
            else:
                values[k] = remote.get(k)
                if rc:
                    sides.add("odoo")
        winner = "merged" if len(sides) == 2 else (sides.pop() if sides else "odoo")
    to_push = {k: v for k, v in values.items() if remote.get(k) != v}
    to_local = {k: v for k, v in values.items() if local.get(k) != v}
    return Resolution(values, to_push, to_local, winner)
