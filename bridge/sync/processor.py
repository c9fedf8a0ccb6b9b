"""Event processor: turns stored webhook events into rows.

An event is only a hint that a record changed. Events are claimed with ``FOR UPDATE SKIP LOCKED``
(a claim is a lease: ``available_at`` moves ``lease`` ahead, so a killed worker's events come back),
grouped by instance and model, and the records are re-read by id from Odoo, through every pulling
adapter of that model (with its domain), then upserted like a pull page. A record that no longer
exists becomes a tombstone. The events are marked done in the same transaction as the upsert, and
read once more when the instance's request limit has passed since they arrived (``recheck_at``): Odoo 17
posts before it commits, so a first read can come too early.
Transient failures retry with backoff; after ``max_attempts``, or for a permanent error or an event
that does not match the schema, the event is dead-lettered.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from contextlib import ExitStack
from typing import Callable

import psycopg

from bridge.observe import metrics, tracing
from bridge.odoo.client import OdooClient
from bridge.odoo.errors import OdooError
from bridge.store import db
from bridge.store.queue import WorkQueue
from bridge.store.runs import Run
from bridge.sync import events
from bridge.sync.context import Context
from bridge.sync.upsert import read_fields, upsert
from bridge.sync.writer import tombstone

# Database errors worth another attempt: an outage, or losing a race with another worker (two workers
# inserting the same shared record at once: the retry finds the row and updates it).
# Lost races with another writer of the same rows (a pull, another processor): try again later. A
# ForeignKeyViolation is one too: a parent both stored at once keeps the other writer's id.
RACES = (psycopg.OperationalError, psycopg.errors.UniqueViolation, psycopg.errors.SerializationFailure,
         psycopg.errors.DeadlockDetected, psycopg.errors.ForeignKeyViolation)


class Processor:
    def __init__(self, url: str, adapters: dict, client_for: Callable[[dict], OdooClient], *,
                 max_attempts: int = 8, lease: dt.timedelta = dt.timedelta(minutes=5), retry_base: float = 1.0,
                 mirror_mappings: bool = False):
        self.url, self.adapters, self.client_for = url, adapters, client_for
        self.max_attempts, self.lease, self.retry_base = max_attempts, lease, retry_base
        self.queue = WorkQueue("odoo.webhook_events", lease, max_attempts, retry_base)
        self.mirror_mappings = mirror_mappings

    def run_once(self, limit: int = 500, instance_id=None, progress=None) -> dict:
        """Claim up to ``limit`` events and apply them. Returns counts.

        Each (instance, model) group is a run per entity it feeds, so process runs carry their entity
        (the per-entity error rate and last success count them). The event-level counts (claimed,
        processed, retried, ...) go to the group's first run, the rows written to each entity's own."""
        with db.connect(self.url) as conn:
            claimed = self.queue.claim(conn, limit, instance_id)
            if not claimed:
                with Run(self.url, "process", instance_id) as run:
                    run.counts["claimed"] = 0
                    return dict(run.counts)
            totals: Counter = Counter()
            groups: dict = defaultdict(list)
            invalid = []
            for ev in claimed:
                problem = events.validate(ev["payload"])
                if problem:
                    invalid.append((ev, problem))
                else:
                    groups[(str(ev["instance_id"]), ev["odoo_model"])].append(ev)
            if invalid:  # no entity: what the event names cannot be trusted
                with Run(self.url, "process", instance_id) as run:
                    run.counts["claimed"] = len(invalid)
                    for ev, problem in invalid:
                        reason = f"event does not match the schema: {problem}"
                        run.item_failed("SchemaError", reason)
                        self._dead(conn, run, ev, reason, "SchemaError")
                totals.update(run.counts)
            for (instance_id_, model), evs in groups.items():
                adapters = [a for a in self.adapters.values() if a.odoo_model == model and a.pulls()]
                with ExitStack() as stack:
                    runs = [(a, stack.enter_context(Run(self.url, "process", instance_id_, a.entity)))
                            for a in adapters] or [(None, stack.enter_context(Run(self.url, "process", instance_id_)))]
                    runs[0][1].counts["claimed"] = len(evs)
                    self._group(conn, runs, instance_id_, model, evs)
                for _, run in runs:
                    totals.update(run.counts)
                if progress:
                    progress(len(evs))
            return dict(totals)

    def _group(self, conn, runs: list, instance_id: str, model: str, evs: list[dict]) -> None:
        """Apply one (instance, model) group of events; `runs` pairs each pulling adapter of the model
        with its run (or is one run without an adapter).

        Its span continues the first event's trace (the webhook delivery's, as the Odoo calls' headers
        do), linked to the run that does the work."""
        run = runs[0][1]
        with tracing.span("apply webhook events", evs[0]["trace_id"] or run.trace_id,
                          {"odoo.model": model, "specgen.instance_id": str(instance_id), "specgen.events": len(evs),
                           "specgen.event_ids": [int(ev["id"]) for ev in evs][:100]},
                          links=[r.span for _, r in runs]):
            self._apply(conn, runs, instance_id, model, evs)

    def _apply(self, conn, runs: list, instance_id: str, model: str, evs: list[dict]) -> None:
        run = runs[0][1]  # the group's first run keeps the event-level counts and steps
        adapters = [a for a, _ in runs if a is not None]
        instance = db.instance(conn, instance_id)
        conn.commit()
        ids = sorted({ev["odoo_id"] or ev["payload"].get("_id") for ev in evs})
        try:
            if instance is None or not instance["active"]:
                raise OdooError(f"instance {instance_id} is unknown or inactive", name="InactiveInstance")
            client = self.client_for(instance)
            with client.traced(evs[0]["trace_id"] or run.trace_id):  # the event's trace, on every Odoo call
                fetched = []
                for adapter, arun in runs:
                    if adapter is None:
                        continue
                    records = client.search_read(adapter.odoo_model, [["id", "in", ids]] + adapter.odoo_domain(),
                                                 read_fields(adapter, client), context=adapter.read_context())
                    fetched.append((adapter, arun, records))
                absent = set(ids) - {r["id"] for _, _, recs in fetched for r in recs}
                gone = set()
                if absent and adapters:
                    still = client.existing_ids(model, absent)
                    gone = absent - still
                db.as_sync(conn, run.trace_id)
                for adapter, arun, records in fetched:
                    ctx = Context(instance, self.adapters, client, arun.trace_id, arun.counts, source="webhook",
                                  mirror_mappings=self.mirror_mappings)
                    upsert(conn, ctx, adapter, records)
                    tombstone(conn, ctx, adapter, gone)
                self.queue.done(conn, [ev["id"] for ev in evs], db.request_limit(instance))
                conn.commit()
            written = dt.datetime.now(dt.timezone.utc)
            rechecks = [ev for ev in evs if ev["recheck_at"] is not None]
            run.counts["rechecked"] += len(rechecks)
            for ev in evs:
                again = ev["recheck_at"] is not None  # the second read: no new delivery to time
                age = round((written - ev["received_at"]).total_seconds(), 3)
                if not again:
                    for adapter in adapters:
                        metrics.event_to_row(adapter.entity, age)
                # The event's own trace continues here: `specgen sync trace` finds this step by it.
                run.event("webhook event rechecked" if again else "webhook event applied",
                          trace_id=ev["trace_id"] or run.trace_id, event_id=ev["id"],
                          odoo_model=model, odoo_id=ev["odoo_id"], entities=[a.entity for a in adapters],
                          gone=ev["odoo_id"] in gone, **({} if again else {"event_to_row_s": age}))
            run.counts["processed"] += len(evs) - len(rechecks)
            if not adapters:
                run.counts["ignored_no_adapter"] += len(evs)
        except (OdooError, psycopg.Error) as exc:
            conn.rollback()
            tracing.error(f"{type(exc).__name__}: {exc}")
            for _, arun in runs:  # every entity the group feeds is behind
                arun.item_failed(type(exc).__name__, f"{type(exc).__name__}: {exc}")
            transient = getattr(exc, "transient", isinstance(exc, RACES))
            for ev in evs:
                if self.queue.gives_up(ev, permanent=not transient):
                    self._dead(conn, run, ev, f"{type(exc).__name__}: {exc}", getattr(exc, "name", type(exc).__name__))
                else:
                    self.queue.retry(conn, ev, str(exc))
                    run.counts["retried"] += 1
            conn.commit()

    def _dead(self, conn, run, ev, reason: str, error_class: str) -> None:
        created = self.queue.bury(conn, ev, reason, instance_id=ev["instance_id"], entity=None,
                                  odoo_model=ev["odoo_model"], record_ref=ev["odoo_id"], payload=ev["payload"],
                                  error_class=error_class, trace_id=ev["trace_id"] or run.trace_id)
        conn.commit()
        run.counts["dead_lettered" if created else "dead_letter_seen_again"] += 1
        run.event("event dead-lettered", level="error", trace_id=ev["trace_id"] or run.trace_id, event_id=ev["id"],
                  reason=reason)
