"""ops.sync_health: the alert conditions as a SQL view, for teams without Prometheus.

One row per active Odoo instance and mapped entity, with the facts (last success, how far the mirror is
behind Odoo and when Odoo last changed, error rate of recent runs (pull, process and push runs carry
their entity), the oldest app change waiting in the outbox, dead letters, event-to-row p99) and one
flag per alert. Thresholds come from the spec's
`observability` section (and `sync.stall_minutes` per entity).
"""
from __future__ import annotations

from generator.emit import sqlobjects as so
from generator.emit.sqlobjects import SqlObject
from generator.ir import IR
from generator.names import sql_string

VIEW = ("ops", "sync_health")


def render_sync_health(ir: IR) -> list[SqlObject]:
    mapped = [t for t in ir.tables if t.odoo]
    if not mapped:
        return []
    o = ir.observability
    values = ",\n    ".join(f"({sql_string(t.entity)}, {sql_string(t.odoo.model)}, {t.odoo.stall_minutes})"
                           for t in mapped)
    view = f"""create or replace view ops.sync_health with (security_invoker = true) as
with mapped (entity, odoo_model, stall_minutes) as (
  values
    {values}
),
recent as (
  select instance_id, entity, count(*) filter (where status = 'failed') as failed, count(*) as total
  from ops.runs where started_at > now() - interval '10 minutes' group by 1, 2
),
letters as (
  select instance_id, entity, count(*) filter (where replayed_at is null) as open,
         count(*) filter (where created_at > now() - interval '1 hour') as last_hour
  from odoo.dead_letters group by 1, 2
),
waiting as (  -- app changes not yet in Odoo: the oldest one's age, attempts and error say why
  select instance_id, entity, count(*) as n, max(attempts) as max_attempts,
         (array_agg(created_at order by id))[1] as oldest_at, (array_agg(attempts order by id))[1] as oldest_attempts,
         (array_agg(last_error order by id))[1] as oldest_error
  from odoo.outbox where status in ('pending', 'processing') group by 1, 2
),
latency as (
  select instance_id, odoo_model,
         percentile_cont(0.99) within group (order by extract(epoch from processed_at - received_at)) as p99
  from odoo.webhook_events
  where processed_at > now() - interval '1 hour' group by 1, 2
)
select
  i.id as instance_id, i.name as instance, m.entity, m.odoo_model,
  s.at as last_success_at,
  -- lag: Odoo's newest write_date (asked by every pull) minus the cursor; 0 once the mirror has it all
  greatest(extract(epoch from c.odoo_head_write_date - c.last_write_date), 0) as cursor_lag_seconds,
  c.odoo_checked_at,
  greatest(c.odoo_head_write_date, c.last_write_date) as last_change_at,  -- greatest() skips nulls
  r.failed::double precision / nullif(r.total, 0) as error_rate,
  coalesce(d.open, 0) as dead_letters,
  coalesce(d.last_hour, 0) as dead_letters_last_hour,
  l.p99 as event_to_row_p99_seconds,
  coalesce(w.n, 0) as outbox_waiting,
  extract(epoch from now() - w.oldest_at) as outbox_oldest_age_seconds,
  w.oldest_attempts as outbox_oldest_attempts,
  w.oldest_error as outbox_oldest_error,
  (s.at is null or s.at < now() - make_interval(mins => m.stall_minutes)) as stalled,
  coalesce(r.failed::double precision / nullif(r.total, 0), 0) > {o.error_rate} as error_rate_high,
  coalesce(d.last_hour, 0) > {o.dead_letters_per_hour} as dead_letters_growing,
  coalesce(l.p99, 0) > {o.event_to_row_p99_seconds} as latency_high,
  coalesce(w.oldest_at < now() - make_interval(mins => {o.outbox_age_minutes}), false) as outbox_stuck,
  coalesce(w.max_attempts, 0) >= {o.push_attempts} as push_retrying
from odoo.instances i
cross join mapped m
left join lateral (  -- the newest success only: an index scan, however long the history
  select max(r.finished_at) as at from ops.runs r
  where r.instance_id = i.id and r.entity = m.entity and r.status = 'succeeded' and r.kind in ('pull', 'push', 'process')
) s on true
left join odoo.sync_cursors c on c.instance_id = i.id and c.entity = m.entity
left join recent r on r.instance_id = i.id and r.entity = m.entity
left join letters d on d.instance_id = i.id and d.entity = m.entity
left join waiting w on w.instance_id = i.id and w.entity = m.entity
left join latency l on l.instance_id = i.id and l.odoo_model = m.odoo_model
where i.active;"""
    return [so.obj("view", ("ops.sync_health",), view, VIEW),
            so.comment("ops.sync_health", "comment on view ops.sync_health is 'Per instance and entity: sync facts "
                                          "and alert flags (the Prometheus alert rules, in SQL).';"),
            so.table_grant(VIEW, "revoke all on ops.sync_health from public, anon, authenticated;"),
            so.table_grant(VIEW, "grant select on ops.sync_health to service_role;")]
