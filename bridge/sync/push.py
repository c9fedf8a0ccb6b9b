"""Push: app -> Odoo through the outbox the ``ops.enqueue_outbox`` trigger fills in the app transaction.

- rows are claimed with ``FOR UPDATE SKIP LOCKED`` (never two workers on one row), oldest first, and
  only the oldest open row of a record, so a record's changes reach Odoo in order;
- a claim is a lease: a row left ``processing`` by a killed worker is claimed again after ``lease``;
- create is idempotent: the mapping is checked first, then Odoo is searched for the record's external
  reference (``ref = 'specgen:<uuid>'`` on res.partner), so a crash between Odoo's answer and our
  commit finds the record instead of creating a duplicate;
- for a shared entity the Odoo record is re-read and the conflict policy decides, field by field
  against the last synced base, what goes to Odoo and what comes back;
- the mapping, the row's instance_id/odoo_id and the outbox acknowledgement are written in ONE
  transaction, with ``specgen.sync_origin = 'odoo'`` so the trigger does not echo them;
- a many2many goes to Odoo as the record's whole set, ``(6, 0, ids)``, built from the join rows when
  the row is pushed (a join row change queues a write of its source row); a linked record not in Odoo
  yet makes the row wait and retry, as `LinkTargetNotPushed`. A shared record's links are resolved
  against the set last agreed (``synced_values['_links']``) like a field under the conflict policy;
- transient errors retry later (``available_at`` with exponential backoff and jitter); after
  ``max_attempts``, or at once for permanent errors, the row goes to ``odoo.dead_letters``.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from itertools import groupby
from typing import Callable

import psycopg

from bridge.observe import tracing

from bridge.adapters import canonical_json, parse_odoo_datetime, values_hash
from bridge.odoo.client import OdooClient
from bridge.odoo.errors import AmbiguousOdooError, MissingError, OdooError, TransientOdooError
from bridge.store import db, links as join_rows, mappings, mirrors
from bridge.store.mappings import LINKS_KEY
from bridge.store.mirrors import local_ids
from bridge.store.queue import WorkQueue
from bridge.observe.context import worker_id
from bridge.store.runs import Run
from bridge.sync import conflicts, htmltext
from bridge.sync.writer import REF_PREFIX, TenantMismatch, tenant_problem, without_links

class AmbiguousCreate(AmbiguousOdooError):
    """A create that got no answer (a timeout, a reset, a proxy's 502/504) may still commit later:
    odoo/service/model.py `retrying` re-runs a call on serialization and lock errors, with sleeps, and
    commits only at its end, within the server's request limit. The retry waits that long (the
    instance's ``request_limit_seconds``), then finds the record by its ref instead of creating it twice."""

    def __init__(self, instance: dict, exc: Exception):
        super().__init__(f"{exc}; looked up again after the request limit", name=getattr(exc, "name", "Ambiguous"))
        self.wait = db.request_limit(instance)


class LinkTargetNotPushed(TransientOdooError):
    """A many2many links a record whose create has not reached Odoo yet: the row waits (retried with
    backoff) rather than sending a set without it."""

    name = "LinkTargetNotPushed"


class Pusher:
    def __init__(self, url: str, adapters: dict, client_for: Callable[[dict], OdooClient], *,
                 max_attempts: int = 8, lease: dt.timedelta = dt.timedelta(minutes=5),
                 retry_base: float = 1.0, worker: str | None = None):
        self.url, self.adapters, self.client_for = url, adapters, client_for
        self.max_attempts, self.lease, self.retry_base = max_attempts, lease, retry_base
        self.worker = worker or worker_id()
        self.queue = WorkQueue("odoo.outbox", lease, max_attempts, retry_base)
        self._instances: dict = {}

    def _instance(self, conn, instance_id) -> dict:
        key = str(instance_id)
        if key not in self._instances:
            self._instances[key] = db.instance(conn, instance_id)
        return self._instances[key]

    def claim(self, conn, limit: int, instance_id=None) -> list[dict]:
        return self.queue.claim(conn, limit, instance_id, worker=self.worker)

    def run_once(self, limit: int = 100, instance_id=None, progress=None) -> dict:
        """Claim up to ``limit`` rows and push them. Returns counts.

        Each consecutive stretch of rows of one (instance, entity) is a run of its own, so a push run
        carries its entity (the per-entity error rate and last success count it) while the rows still
        go out in the order they were claimed (a project before the task that references it)."""
        with db.connect(self.url) as conn:
            # UPDATE ... RETURNING gives the claimed rows in no promised order: oldest first, as queued
            rows = sorted(self.claim(conn, limit, instance_id), key=lambda r: r["id"])
            if not rows:
                with Run(self.url, "push", instance_id) as run:
                    run.counts["claimed"] = 0
                    return dict(run.counts)
            totals: Counter = Counter()
            for (iid, entity), group in groupby(rows, key=lambda r: (r["instance_id"], r["entity"])):
                group = list(group)
                with Run(self.url, "push", iid, entity) as run:
                    run.counts["claimed"] = len(group)
                    for row in group:
                        self._one(conn, run, row)
                        if progress:
                            progress(1)
                totals.update(run.counts)
            return dict(totals)

    # -- one outbox row ---------------------------------------------------------------------
    def _one(self, conn, run: Run, row: dict) -> None:
        # the span continues the change's trace (the outbox row's, set by the app's session), linked to the run
        with tracing.span("push outbox row", row["trace_id"] or run.trace_id,
                          {"specgen.outbox_id": int(row["id"]), "specgen.entity": row["entity"],
                           "specgen.operation": row["operation"], "specgen.local_id": str(row["local_id"])},
                          links=[run.span]):
            self._push_row(conn, run, row)

    def _push_row(self, conn, run: Run, row: dict) -> None:
        adapter = self.adapters.get(row["entity"])
        instance = self._instance(conn, row["instance_id"])
        trace = row["trace_id"] or run.trace_id  # the change's trace
        try:
            if adapter is None or not adapter.pushes():
                raise OdooError(f"entity {row['entity']!r} has no push adapter", name="NoAdapter")
            client = self.client_for(instance)
            with client.traced(trace):  # on every Odoo call the push makes
                if row["operation"] == "unlink":
                    outcome = self._unlink(conn, run, adapter, instance, client, row)
                else:
                    outcome = self._upsert(conn, run, adapter, instance, client, row)
            # the change's own trace continues here (`specgen sync trace` shows what reached Odoo), in the
            # transaction that acknowledges the row: the step exists if and only if the push is done
            run.event("app change pushed", trace_id=trace, conn=conn, outbox_id=row["id"],
                      entity=row["entity"], local_id=str(row["local_id"]), operation=row["operation"], **outcome)
            conn.commit()
        except OdooError as exc:
            conn.rollback()
            self._failed(conn, run, row, adapter, exc, permanent=not exc.transient)
        except (psycopg.Error, ValueError, TypeError, KeyError) as exc:
            conn.rollback()
            self._failed(conn, run, row, adapter, exc, permanent=isinstance(exc, (ValueError, TypeError, KeyError)))

    def _failed(self, conn, run, row, adapter, exc, permanent: bool) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        tracing.error(reason)
        run.item_failed(type(exc).__name__, reason)  # a class name: a bounded metric label
        if self.queue.gives_up(row, permanent):
            self.queue.bury(conn, row, reason, instance_id=row["instance_id"], entity=row["entity"],
                            odoo_model=adapter.odoo_model if adapter else None, record_ref=row["local_id"],
                            payload={"outbox_id": row["id"], "local_id": str(row["local_id"]),
                                     "operation": row["operation"], "row": row["payload"]},
                            error_class=getattr(exc, "name", type(exc).__name__),
                            trace_id=row["trace_id"] or run.trace_id)
            if isinstance(exc, MissingError) and adapter is not None:
                # edited in the app, deleted in Odoo: the row becomes a tombstone (and the edit a dead letter)
                db.as_sync(conn, row["trace_id"])
                mirrors.tombstone_row(conn, adapter, row["local_id"])
            run.counts["dead_lettered"] += 1
            run.event("push dead-lettered", level="error", trace_id=row["trace_id"] or run.trace_id, outbox_id=row["id"],
                      reason=reason, attempts=row["attempts"])
        else:
            # The create may still commit: look it up by its ref only once Odoo must have finished it.
            wait = exc.wait if isinstance(exc, AmbiguousCreate) else 0.0
            if isinstance(exc, AmbiguousCreate):
                run.event("create unanswered: waiting out the request limit before looking it up",
                          level="warning", trace_id=row["trace_id"] or run.trace_id, outbox_id=row["id"],
                          wait_s=exc.wait)
            self.queue.retry(conn, row, reason, at_least=wait)
            run.counts["retried"] += 1
        conn.commit()

    def _done(self, conn, row) -> None:
        self.queue.done(conn, [row["id"]])

    def _unresolver(self, conn, instance_id):
        def unresolve(target: str, local_id: str):
            t = self.adapters.get(target)
            if t is None:
                return None
            return mirrors.odoo_id_of(conn, t, local_id, instance_id)
        return unresolve

    def _resolver(self, conn, instance_id):
        def resolve(target: str, odoo_id: int):
            t = self.adapters.get(target)
            return None if t is None else local_ids(conn, t, instance_id, [odoo_id]).get(odoo_id)
        return resolve

    def _find_by_ref(self, client, adapter, local_id) -> int | None:
        ref = adapter.external_ref_field()
        if not ref:
            return None
        ids = client.search(adapter.odoo_model, [[ref, "=", f"{REF_PREFIX}{local_id}"]],
                            context={"active_test": False}, limit=1)
        return ids[0] if ids else None

    def _upsert(self, conn, run, adapter, instance, client, row) -> dict:
        """Create or write the row's record in Odoo. Returns what happened ({"action", "odoo_id"})."""
        iid, local_id = instance["id"], row["local_id"]
        local = mirrors.row(conn, adapter, local_id)
        if local is None:  # deleted since: the unlink row that follows does the work
            self._done(conn, row)
            run.counts["skipped_deleted"] += 1
            return {"action": "skipped_deleted", "odoo_id": None}
        self._same_tenant(adapter, local, instance)
        mapping = mappings.by_local_id(conn, iid, adapter.entity, local_id)
        odoo_id = mapping["odoo_id"] if mapping else None
        links = self._local_links(conn, adapter, iid, local_id)  # {relation: sorted Odoo ids}
        conn.commit()  # no transaction open while Odoo is called
        html = htmltext.html_fields(adapter, client)  # text in the app, markup in Odoo (bridge/sync/htmltext)
        if odoo_id is None:
            action, odoo_id = self._create(conn, adapter, instance, client, local_id, local, links, html)
            synced, agreed, links_to_local, to_local = adapter.comparable(local), links, {}, {}
        else:
            action, synced, agreed, links_to_local, to_local = self._write_known(
                conn, adapter, iid, client, local, mapping, links, html)
        # one transaction: row link (+ fields Odoo won), mapping, acknowledgement; no echo
        db.as_sync(conn, row["trace_id"])
        mirrors.link(conn, adapter, local_id, to_local, iid, odoo_id)
        if links_to_local:
            agreed = {**agreed, **self._store_links(conn, adapter, iid, local, links_to_local)}
        stored = {**synced, LINKS_KEY: agreed} if adapter.many2manys else synced
        mappings.save_pushed(conn, iid, adapter, local_id, odoo_id, values_hash(synced), canonical_json(stored).decode())
        self._done(conn, row)
        run.counts[action] += 1
        return {"action": action, "odoo_id": odoo_id, "took_from_odoo": sorted([*to_local, *links_to_local])}

    def _create(self, conn, adapter, instance, client, local_id, local: dict, links: dict, html: list) -> tuple:
        """A row Odoo has no mapping of: found by its external ref (a create whose answer was lost), or
        created. Returns (action, Odoo id)."""
        unresolve = self._unresolver(conn, instance["id"])
        odoo_id = self._find_by_ref(client, adapter, local_id)
        if odoo_id is not None:
            client.write(adapter.odoo_model, [odoo_id], {
                **htmltext.values_to_html(adapter.to_odoo(local, unresolve), html),
                **self._link_commands(adapter, links)})
            return "found_by_ref", odoo_id
        values = htmltext.values_to_html(adapter.to_odoo(local, unresolve), html)
        ref = adapter.external_ref_field()
        if ref:
            values[ref] = f"{REF_PREFIX}{local_id}"
        values.update(self._link_commands(adapter, links))
        try:
            return "created", client.create(adapter.odoo_model, values)
        except AmbiguousOdooError as exc:
            raise AmbiguousCreate(instance, exc) from None

    def _write_known(self, conn, adapter, iid, client, local: dict, mapping: dict, links: dict, html: list) -> tuple:
        """A mapped row: re-read its record, let the policy decide field by field (and link set by link
        set) against the base, write what Odoo lacks. Returns (action, synced values, agreed links,
        links the app lacks, values the app lacks)."""
        odoo_id = mapping["odoo_id"]
        base = without_links(mapping["synced_values"])
        base_links = (mapping["synced_values"] or {}).get(LINKS_KEY) or {}
        remote_recs = client.read(adapter.odoo_model, [odoo_id], adapter.odoo_fields(), {"active_test": False})
        if not remote_recs:
            raise MissingError(f"{adapter.odoo_model} {odoo_id} no longer exists in Odoo", name="MissingError")
        remote_vals = adapter.from_odoo(htmltext.record_to_text(remote_recs[0], html), self._resolver(conn, iid))
        conn.commit()
        current, remote = adapter.comparable(local), adapter.comparable(remote_vals)
        # last_write_wins compares the app's updated_at with the record's write_date as just re-read
        # (from_odoo gives the columns only: the write_date is the record's own)
        remote_ts = parse_odoo_datetime(remote_recs[0].get("write_date"))
        if adapter.owner == "shared":
            res = conflicts.resolve(adapter.conflict or "odoo_wins", base, current, remote,
                                    local_ts=local.get("updated_at"), remote_ts=remote_ts)
        else:  # app-owned: the app is the source of truth
            res = conflicts.resolve("app_wins", base, current, remote)
        agreed, links_to_push, links_to_local = self._resolve_links(
            adapter, links, base_links, remote_recs[0], local.get("updated_at"), remote_ts)
        action = "unchanged"
        if res.to_push or links_to_push:
            unresolve = self._unresolver(conn, iid)
            values = htmltext.values_to_html(adapter.to_odoo(local, unresolve, columns=list(res.to_push)), html) \
                if res.to_push else {}
            client.write(adapter.odoo_model, [odoo_id], {**values, **self._link_commands(adapter, links_to_push)})
            action = "written"
        return action, res.values, agreed, links_to_local, {c: remote_vals[c] for c in res.to_local}

    # -- many2many --------------------------------------------------------------------------
    def _local_links(self, conn, adapter, instance_id, local_id) -> dict[str, list[int]]:
        """{relation: sorted Odoo ids of the linked records} from the join rows. A linked record with no
        Odoo id yet (its create not pushed) makes the row wait: a transient error, retried with backoff."""
        out = {}
        for rel in adapter.many2manys:
            target = self.adapters.get(rel.target)
            if target is None:
                continue
            rows = join_rows.targets_of(conn, rel, target, instance_id, local_id)
            missing = [str(r["local_id"]) for r in rows if r["odoo_id"] is None]
            if missing:
                raise LinkTargetNotPushed(f"{adapter.entity}.{rel.relation} links {rel.target} {', '.join(missing)} "
                                          "that is not in Odoo yet: waiting for its push")
            out[rel.relation] = sorted({int(r["odoo_id"]) for r in rows})
        return out

    @staticmethod
    def _link_commands(adapter, links: dict[str, list[int]]) -> dict:
        """Odoo values replacing each many2many with the given set: ``[(6, 0, ids)]``, Odoo 17's
        ``Command.SET`` (odoo/fields.py `_RelationalMulti.write_batch` -> `Many2many.write_real`)."""
        fields = {rel.relation: rel.odoo_field for rel in adapter.many2manys}
        return {fields[name]: [[6, 0, ids]] for name, ids in links.items()}

    @staticmethod
    def _resolve_links(adapter, local: dict, base: dict, remote_rec: dict, local_ts, remote_ts):
        """Per many2many, which side's set both must hold, as the record's conflict policy decides a field:
        one side changed since the base -> that side; both -> ``field_merge`` merges the sets link by link
        (either side's additions, less either side's removals), ``app_wins`` (an app-owned entity's
        policy too) and ``last_write_wins`` with the later app write take the app's, else Odoo's.
        Returns (agreed, to push, to local)."""
        policy = "app_wins" if adapter.owner != "shared" else (adapter.conflict or "odoo_wins")
        agreed, to_push, to_local = {}, {}, {}
        for name, mine in local.items():
            odoo_field = next(r.odoo_field for r in adapter.many2manys if r.relation == name)
            if odoo_field not in remote_rec:
                agreed[name] = mine
                to_push[name] = mine
                continue
            theirs = sorted({int(i) for i in remote_rec[odoo_field] or []})
            was = sorted(base[name]) if name in base else None
            if mine == theirs:
                agreed[name] = mine
                continue
            app_changed, odoo_changed = was is None or mine != was, was is None or theirs != was
            if app_changed and not odoo_changed:
                result = mine
            elif odoo_changed and not app_changed:
                result = theirs
            elif policy == "field_merge" and was is not None:
                # a set merges link by link: what either side added, less what either side removed
                added, removed = (set(mine) | set(theirs)) - set(was), (set(was) - set(mine)) | (set(was) - set(theirs))
                result = sorted((set(was) | added) - removed)
            elif policy == "app_wins" or (policy == "last_write_wins" and local_ts and remote_ts
                                          and local_ts > remote_ts + conflicts.DEFAULT_SKEW):
                result = mine
            else:
                result = theirs
            agreed[name] = result
            if result != theirs:
                to_push[name] = result
            if result != mine:
                to_local[name] = result
        return agreed, to_push, to_local

    def _store_links(self, conn, adapter, instance_id, local: dict, links: dict[str, list[int]]) -> dict:
        """Make the join rows the given Odoo sets (the sync writes them: no echo); returns the sets
        actually stored (a linked record not mirrored yet is left out, as the pull leaves it)."""
        stored = {}
        for rel in adapter.many2manys:
            if rel.relation not in links:
                continue
            target = self.adapters[rel.target]
            found = local_ids(conn, target, instance_id, links[rel.relation])
            tenant = adapter.tenant_column
            join_rows.set_for(conn, rel, tenant, local[tenant] if tenant else None, local[adapter.primary_key],
                              list(found.values()))
            stored[rel.relation] = sorted(found)
        return stored

    @staticmethod
    def _same_tenant(adapter, local: dict, instance: dict) -> None:
        """An outbox row is pushed only to an instance of its row's own org (never trust the queue: a
        row whose instance_id was pointed elsewhere must not reach another tenant's Odoo)."""
        problem = tenant_problem(adapter, local, instance)
        if problem:
            raise TenantMismatch(f"not sent to instance {instance['id']}: {adapter.entity} {local.get(adapter.primary_key)} "
                                 f"{problem}")

    def _unlink(self, conn, run, adapter, instance, client, row) -> dict:
        iid = instance["id"]
        if isinstance(row["payload"], dict):  # the deleted row, as the trigger saw it
            self._same_tenant(adapter, row["payload"], instance)
        mapping = mappings.by_local_id(conn, iid, adapter.entity, row["local_id"])
        conn.commit()
        odoo_id = mapping["odoo_id"] if mapping else self._find_by_ref(client, adapter, row["local_id"])
        action = "never_in_odoo"
        if odoo_id is not None:
            try:
                client.unlink(adapter.odoo_model, [odoo_id])
                action = "unlinked"
            except MissingError:
                action = "already_gone"
        db.as_sync(conn, row["trace_id"])
        mappings.delete(conn, iid, adapter.entity, row["local_id"])
        self._done(conn, row)
        if action != "never_in_odoo":
            run.counts[action] += 1
        return {"action": action, "odoo_id": odoo_id}
