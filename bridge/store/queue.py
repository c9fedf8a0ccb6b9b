"""One work queue for the two the sync drains: the outbox (app -> Odoo) and the webhook events (Odoo -> app).

Both are claimed with ``FOR UPDATE SKIP LOCKED`` (never two workers on one row) under a lease (a row a
killed worker left behind is claimed again once the lease is over), count their attempts, back off
exponentially with full jitter (``available_at``), and go to ``odoo.dead_letters`` at once for a
permanent error or after ``max_attempts``. What differs between the tables is only their SQL:

- ``odoo.outbox``: the lease is ``claimed_at`` (rows stay ``processing`` while claimed), and only the
  oldest open row of a record is claimed, so a record's changes reach Odoo in order;
- ``odoo.webhook_events``: the lease moves ``available_at`` ahead; a done event whose ``recheck_at``
  has come is claimed again (Odoo 17 posts before it commits, so a first read can come too early).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg

from bridge.backoff import backoff
from bridge.store import deadletters


@dataclass(frozen=True)
class QueueSQL:
    claim: str  # parameters: worker, lease, limit, instance
    retry: str  # parameters: error, delay, id
    dead: str  # parameters: error, id
    done: str  # parameters: ids, limit (the instance's request limit, for a recheck)
    source: str  # the dead letters' source


OUTBOX = QueueSQL(
    claim="""
update odoo.outbox o set status = 'processing', claimed_by = %(worker)s, claimed_at = now(), attempts = o.attempts + 1
 where o.id in (
   select c.id from odoo.outbox c
    where ((c.status = 'pending' and c.available_at <= now())
           or (c.status = 'processing' and c.claimed_at < now() - %(lease)s))
      and (%(instance)s::uuid is null or c.instance_id = %(instance)s::uuid)
      and not exists (select 1 from odoo.outbox p
                       where p.instance_id = c.instance_id and p.entity = c.entity and p.local_id = c.local_id
                         and p.id < c.id and p.status in ('pending', 'processing'))
    order by c.id limit %(limit)s
    for update skip locked)
returning o.*""",
    retry="update odoo.outbox set status='pending', claimed_by=null, last_error=%(error)s, "
          "available_at = now() + make_interval(secs => %(delay)s) where id=%(id)s",
    dead="update odoo.outbox set status='dead', last_error=%(error)s, claimed_by=null where id=%(id)s",
    done="update odoo.outbox set status='done', claimed_by=null, last_error=null where id = any(%(ids)s)",
    source="push")

# Done, and read once more at received_at + the instance's request limit if that is still to come: Odoo 17
# posts a notification inside the call, before its transaction commits (ir_actions.py
# `_run_action_webhook`; for an unlink, before the delete), so the first read may see the record as it
# was. By that time the call has committed or been killed (limit_time_real), so the second read is final.
WEBHOOK_EVENTS = QueueSQL(
    claim="""
with due as (select c.id from odoo.webhook_events c
              where c.status in ('pending', 'processing') and c.available_at <= now()
                and (%(instance)s::uuid is null or c.instance_id = %(instance)s::uuid)
              order by c.available_at, c.id limit %(limit)s for update skip locked),
     recheck as (select c.id from odoo.webhook_events c
                  where c.recheck_at <= now() and c.status = 'done'
                    and (%(instance)s::uuid is null or c.instance_id = %(instance)s::uuid)
                  order by c.recheck_at, c.id limit %(limit)s for update skip locked)
update odoo.webhook_events e set status = 'processing', attempts = e.attempts + 1,
       available_at = now() + %(lease)s
 where e.id in (select id from due union all select id from recheck)
returning e.*""",
    retry="update odoo.webhook_events set status='pending', last_error=%(error)s, "
          "available_at = now() + make_interval(secs => %(delay)s) where id=%(id)s",
    dead="update odoo.webhook_events set status='dead', last_error=%(error)s, processed_at=now() where id=%(id)s",
    done="""
update odoo.webhook_events set status = 'done', processed_at = clock_timestamp(), last_error = null,
       recheck_at = case when clock_timestamp() < received_at + make_interval(secs => %(limit)s)
                         then received_at + make_interval(secs => %(limit)s) end
 where id = any(%(ids)s)""",
    source="webhook")

TABLES = {"odoo.outbox": OUTBOX, "odoo.webhook_events": WEBHOOK_EVENTS}


class WorkQueue:
    """``WorkQueue('odoo.outbox', lease, max_attempts)``: claim, acknowledge, retry or dead-letter its rows."""

    def __init__(self, table: str, lease: dt.timedelta, max_attempts: int, retry_base: float = 1.0):
        if table not in TABLES:
            raise ValueError(f"no work queue {table!r}; expected one of {', '.join(TABLES)}")
        self.table, self.lease, self.max_attempts, self.retry_base = table, lease, max_attempts, retry_base
        self.sql = TABLES[table]

    def claim(self, conn: psycopg.Connection, limit: int, instance_id=None, worker: str | None = None) -> list[dict]:
        """Claim up to ``limit`` due rows (of one instance, if given) and commit the claim."""
        rows = conn.execute(self.sql.claim, {"worker": worker, "lease": self.lease, "limit": limit,
                                             "instance": instance_id}).fetchall()
        conn.commit()
        return rows

    def done(self, conn: psycopg.Connection, ids: list, request_limit: float | None = None) -> None:
        """Acknowledge rows, in the caller's transaction (with the work they asked for)."""
        conn.execute(self.sql.done, {"ids": list(ids), "limit": request_limit})

    def gives_up(self, item: dict, permanent: bool) -> bool:
        """Whether a failed row goes to dead letters (permanent, or out of attempts) rather than back."""
        return permanent or item["attempts"] >= self.max_attempts

    def retry(self, conn: psycopg.Connection, item: dict, error: str, at_least: float = 0.0) -> float:
        """Back to the queue after an exponential backoff with jitter (at least ``at_least`` seconds).
        Returns the delay. Does not commit."""
        delay = max(backoff(item["attempts"], self.retry_base), at_least)
        conn.execute(self.sql.retry, {"error": error[:4000], "delay": delay, "id": item["id"]})
        return delay

    def bury(self, conn: psycopg.Connection, item: dict, reason: str, *, instance_id, entity: str | None,
             odoo_model: str | None, record_ref, payload, error_class: str | None, trace_id: str) -> bool:
        """Dead-letter a row (its dead letter, then the row marked dead). Returns whether the dead
        letter is new (a pulled record's open one is updated instead). Does not commit."""
        _, created = deadletters.add(conn, source=self.sql.source, instance_id=instance_id, entity=entity,
                                     odoo_model=odoo_model, record_ref=record_ref, payload=payload,
                                     reason=reason, error_class=error_class, attempts=item["attempts"],
                                     trace_id=trace_id)
        conn.execute(self.sql.dead, {"error": reason[:4000], "id": item["id"]})
        return created
