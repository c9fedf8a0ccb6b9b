"""Prometheus alert rules (with promtool unit tests) and a Grafana dashboard, from the spec's thresholds.

The metric names are the runtime's contract (docs/observability.md): the worker and the webhook
receiver export them, these rules and panels read them.
"""
from __future__ import annotations

import yaml

from generator.text import jsondoc
from generator.ir import IR

PREFIX = "observability"
RULES_PATH = f"{PREFIX}/prometheus/alerts.yml"
TESTS_PATH = f"{PREFIX}/prometheus/alerts.test.yml"
DASHBOARD_PATH = f"{PREFIX}/grafana/sync-health.json"

METRICS = {
    "specgen_sync_records_total": "counter{instance,entity,direction}: records pulled or pushed",
    "specgen_sync_errors_total": "counter{instance,entity,error_class}: failed records or calls",
    "specgen_sync_retries_total": "counter{instance,entity}: retried Odoo calls",
    "specgen_sync_dead_letters_total": "counter{instance,entity,source}: work sent to dead letters",
    "specgen_sync_last_success_timestamp_seconds": "gauge{instance,entity}: end of the last successful run",
    "specgen_sync_cursor_lag_seconds": "gauge{instance,entity}: Odoo's newest write_date minus the pull cursor's",
    "specgen_sync_last_change_timestamp_seconds": "gauge{instance,entity}: Odoo's newest write_date the sync has seen",
    "specgen_outbox_oldest_age_seconds": "gauge{instance,entity}: age of the oldest app change waiting to be pushed",
    "specgen_outbox_max_attempts": "gauge{instance,entity}: most push attempts of an app change still waiting",
    "specgen_webhook_events_total": "counter{instance,outcome=received|accepted|rejected}: webhook deliveries",
    "specgen_queue_depth": "gauge{queue=outbox|webhook_events|dead_letters,instance}: rows waiting",
    "specgen_odoo_call_duration_seconds": "histogram{model,method}: Odoo RPC latency",
    "specgen_event_to_row_seconds": "histogram{entity}: webhook received to row written",
}


def _dump(doc) -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml where available: same text, faster
    return yaml.dump(doc, Dumper=dumper, sort_keys=False, width=120, default_flow_style=False)


def rules(ir: IR) -> dict:
    o = ir.observability
    mapped = [t for t in ir.tables if t.odoo]
    stall = [{
        "alert": "SpecgenSyncStalled",
        "expr": f'time() - specgen_sync_last_success_timestamp_seconds{{entity="{t.entity}"}} > {t.odoo.stall_minutes * 60}',
        "for": "5m",
        "labels": {"severity": "page", "entity": t.entity},
        "annotations": {"summary": f"{t.entity} ({t.odoo.model}) has not synced for over {t.odoo.stall_minutes} minutes "
                                   "on {{ $labels.instance }}",
                        "runbook": "docs/sync.md: check ops.sync_health and `specgen sync status`"},
    } for t in mapped]
    return {"groups": [{"name": "specgen-sync", "rules": [
        *stall,
        {"alert": "SpecgenSyncErrorRateHigh",
         "expr": "sum by (instance, entity) (rate(specgen_sync_errors_total[10m])) / clamp_min(sum by (instance, entity) "
                 f"(rate(specgen_sync_records_total[10m])) + sum by (instance, entity) (rate(specgen_sync_errors_total[10m])), "
                 f"1e-9) > {o.error_rate}",
         "for": "10m", "labels": {"severity": "page"},
         "annotations": {"summary": f"over {o.error_rate:.0%} of {{{{ $labels.entity }}}} sync work fails on "
                                    "{{ $labels.instance }}"}},
        {"alert": "SpecgenOutboxStuck",
         "expr": f"max by (instance, entity) (specgen_outbox_oldest_age_seconds) > {o.outbox_age_minutes * 60}",
         "for": "5m", "labels": {"severity": "page"},
         "annotations": {"summary": f"an app change to {{{{ $labels.entity }}}} has waited over {o.outbox_age_minutes} "
                                    "minutes to reach Odoo on {{ $labels.instance }}",
                         "runbook": "docs/observability.md: the dashboard row shows the oldest waiting change's error"}},
        {"alert": "SpecgenPushRetrying",
         "expr": f"max by (instance, entity) (specgen_outbox_max_attempts) >= {o.push_attempts}",
         "for": "5m", "labels": {"severity": "ticket"},
         "annotations": {"summary": f"pushes of {{{{ $labels.entity }}}} to {{{{ $labels.instance }}}} keep failing "
                                    f"({o.push_attempts}+ attempts); see the outbox row's last_error"}},
        {"alert": "SpecgenDeadLettersGrowing",
         "expr": f"sum by (instance, entity) (increase(specgen_sync_dead_letters_total[1h])) > {o.dead_letters_per_hour}",
         "labels": {"severity": "ticket"},
         "annotations": {"summary": f"more than {o.dead_letters_per_hour} dead letters in an hour for "
                                    "{{ $labels.entity }} on {{ $labels.instance }}; replay with `specgen sync replay`"}},
        {"alert": "SpecgenWebhookRejectionSpike",
         "expr": 'sum by (instance) (rate(specgen_webhook_events_total{outcome="rejected"}[10m])) / clamp_min(sum by '
                 '(instance) (rate(specgen_webhook_events_total{outcome="received"}[10m])), 1e-9) '
                 f"> {o.webhook_rejection_rate}",
         "for": "5m", "labels": {"severity": "ticket"},
         "annotations": {"summary": f"over {o.webhook_rejection_rate:.0%} of webhooks rejected on "
                                    "{{ $labels.instance }} (token, signature or payload)"}},
        {"alert": "SpecgenOdooLatencyHigh",
         "expr": "histogram_quantile(0.99, sum by (le, model) (rate(specgen_odoo_call_duration_seconds_bucket[10m]))) "
                 f"> {o.odoo_p99_seconds}",
         "for": "10m", "labels": {"severity": "ticket"},
         "annotations": {"summary": f"p99 of Odoo calls on {{{{ $labels.model }}}} above {o.odoo_p99_seconds}s"}},
        {"alert": "SpecgenEventToRowLatencyHigh",
         "expr": "histogram_quantile(0.99, sum by (le, entity) (rate(specgen_event_to_row_seconds_bucket[10m]))) "
                 f"> {o.event_to_row_p99_seconds}",
         "for": "10m", "labels": {"severity": "ticket"},
         "annotations": {"summary": f"p99 from webhook to row for {{{{ $labels.entity }}}} above "
                                    f"{o.event_to_row_p99_seconds}s"}},
    ]}]}


def rule_tests(ir: IR) -> dict:
    """promtool unit tests: each alert fires in its scenario and stays silent when healthy."""
    o = ir.observability
    t = next(t for t in ir.tables if t.odoo)
    tests = [*_sync_tests(o, t), *_outbox_tests(o, t), *_api_tests(o), _healthy_test(o, t)]
    _annotate(ir, tests)
    return {"rule_files": ["alerts.yml"], "evaluation_interval": "1m", "tests": tests}


def _sync_tests(o, t) -> list[dict]:
    """A stalled sync, a high error rate and growing dead letters, each beside a healthy instance."""
    stall_min = t.odoo.stall_minutes
    healthy_errors = max(int(o.error_rate * 100 / 2), 0)
    bad_errors = int(o.error_rate * 100 * 4) + 1
    per_min_dead = o.dead_letters_per_hour // 30 + 1  # about twice the threshold in an hour
    labels = f'instance="main",entity="{t.entity}"'
    return [
        {"name": "stalled sync fires, fresh sync stays silent", "interval": "1m",
         "input_series": [
             {"series": f"specgen_sync_last_success_timestamp_seconds{{{labels}}}", "values": "0+0x180"},
             {"series": f'specgen_sync_last_success_timestamp_seconds{{instance="fresh",entity="{t.entity}"}}',
              "values": "0+60x180"}],
         "alert_rule_test": [
             {"eval_time": f"{stall_min + 10}m", "alertname": "SpecgenSyncStalled", "exp_alerts": [
                 {"exp_labels": {"severity": "page", "instance": "main", "entity": t.entity}}]}]},
        {"name": "error rate", "interval": "1m",
         "input_series": [
             {"series": f"specgen_sync_records_total{{{labels}}}", "values": "0+100x60"},
             {"series": f"specgen_sync_errors_total{{{labels}}}", "values": f"0+{bad_errors}x60"},
             {"series": f'specgen_sync_records_total{{instance="ok",entity="{t.entity}"}}', "values": "0+100x60"},
             {"series": f'specgen_sync_errors_total{{instance="ok",entity="{t.entity}"}}',
              "values": f"0+{healthy_errors}x60"}],
         "alert_rule_test": [
             {"eval_time": "40m", "alertname": "SpecgenSyncErrorRateHigh", "exp_alerts": [
                 {"exp_labels": {"severity": "page", "instance": "main", "entity": t.entity}}]}]},
        {"name": "dead letters growing", "interval": "1m",
         "input_series": [
             {"series": f'specgen_sync_dead_letters_total{{{labels},source="pull"}}', "values": f"0+{per_min_dead}x90"},
             {"series": f'specgen_sync_dead_letters_total{{instance="ok",entity="{t.entity}",source="pull"}}',
              "values": "0+0x90"}],
         "alert_rule_test": [
             {"eval_time": "80m", "alertname": "SpecgenDeadLettersGrowing", "exp_alerts": [
                 {"exp_labels": {"severity": "ticket", "instance": "main", "entity": t.entity}}]}]},
    ]


def _outbox_tests(o, t) -> list[dict]:
    """An app change stuck in the outbox, and pushes retried again and again."""
    labels = f'instance="main",entity="{t.entity}"'
    return [
        {"name": "an app change waits too long in the outbox", "interval": "1m",
         "input_series": [
             {"series": f"specgen_outbox_oldest_age_seconds{{{labels}}}", "values": "0+60x90"},
             {"series": f'specgen_outbox_oldest_age_seconds{{instance="ok",entity="{t.entity}"}}', "values": "0+0x90"}],
         "alert_rule_test": [
             {"eval_time": f"{o.outbox_age_minutes + 10}m", "alertname": "SpecgenOutboxStuck", "exp_alerts": [
                 {"exp_labels": {"severity": "page", "instance": "main", "entity": t.entity}}]}]},
        {"name": "pushes retried again and again", "interval": "1m",
         "input_series": [
             {"series": f"specgen_outbox_max_attempts{{{labels}}}", "values": "1+1x40"},
             {"series": f'specgen_outbox_max_attempts{{instance="ok",entity="{t.entity}"}}', "values": "1+0x40"}],
         "alert_rule_test": [
             {"eval_time": f"{o.push_attempts + 10}m", "alertname": "SpecgenPushRetrying", "exp_alerts": [
                 {"exp_labels": {"severity": "ticket", "instance": "main", "entity": t.entity}}]}]},
    ]


def _api_tests(o) -> list[dict]:
    """A webhook rejection spike and slow Odoo calls."""
    slow = o.odoo_p99_seconds * 2
    return [
        {"name": "webhook rejection spike", "interval": "1m",
         "input_series": [
             {"series": 'specgen_webhook_events_total{instance="main",outcome="received"}', "values": "0+100x40"},
             {"series": 'specgen_webhook_events_total{instance="main",outcome="rejected"}', "values": "0+90x40"},
             {"series": 'specgen_webhook_events_total{instance="ok",outcome="received"}', "values": "0+100x40"},
             {"series": 'specgen_webhook_events_total{instance="ok",outcome="rejected"}', "values": "0+1x40"}],
         "alert_rule_test": [
             {"eval_time": "30m", "alertname": "SpecgenWebhookRejectionSpike", "exp_alerts": [
                 {"exp_labels": {"severity": "ticket", "instance": "main"}}]}]},
        {"name": "odoo latency", "interval": "1m",
         "input_series": [
             {"series": f'specgen_odoo_call_duration_seconds_bucket{{model="res.partner",le="{o.odoo_p99_seconds}"}}',
              "values": "0+1x40"},
             {"series": f'specgen_odoo_call_duration_seconds_bucket{{model="res.partner",le="{slow * 2}"}}',
              "values": "0+100x40"},
             {"series": 'specgen_odoo_call_duration_seconds_bucket{model="res.partner",le="+Inf"}', "values": "0+100x40"},
             {"series": f'specgen_odoo_call_duration_seconds_bucket{{model="sale.order",le="{o.odoo_p99_seconds / 10}"}}',
              "values": "0+100x40"},
             {"series": 'specgen_odoo_call_duration_seconds_bucket{model="sale.order",le="+Inf"}', "values": "0+100x40"}],
         "alert_rule_test": [
             {"eval_time": "30m", "alertname": "SpecgenOdooLatencyHigh", "exp_alerts": [
                 {"exp_labels": {"severity": "ticket", "model": "res.partner"}}]}]},
    ]


def _healthy_test(o, t) -> dict:
    """Everything healthy: no alert fires."""
    labels = f'instance="main",entity="{t.entity}"'
    return {"name": "everything healthy: no alert at all", "interval": "1m",
            "input_series": [
                {"series": f"specgen_sync_last_success_timestamp_seconds{{{labels}}}", "values": "0+60x60"},
                {"series": f"specgen_sync_records_total{{{labels}}}", "values": "0+100x60"},
                {"series": f"specgen_sync_errors_total{{{labels}}}", "values": "0+0x60"},
                {"series": f'specgen_sync_dead_letters_total{{{labels},source="pull"}}', "values": "0+0x60"},
                {"series": 'specgen_webhook_events_total{instance="main",outcome="received"}', "values": "0+100x60"},
                {"series": 'specgen_webhook_events_total{instance="main",outcome="rejected"}', "values": "0+0x60"},
                {"series": f'specgen_odoo_call_duration_seconds_bucket{{model="res.partner",le="{o.odoo_p99_seconds / 10}"}}',
                 "values": "0+100x60"},
                {"series": 'specgen_odoo_call_duration_seconds_bucket{model="res.partner",le="+Inf"}', "values": "0+100x60"},
                {"series": f"specgen_outbox_oldest_age_seconds{{{labels}}}", "values": "0+0x60"},
                {"series": f"specgen_outbox_max_attempts{{{labels}}}", "values": "0+0x60"}],
            "alert_rule_test": [{"eval_time": "45m", "alertname": a, "exp_alerts": []} for a in (
                "SpecgenOutboxStuck", "SpecgenPushRetrying",
                "SpecgenSyncStalled", "SpecgenSyncErrorRateHigh", "SpecgenDeadLettersGrowing",
                "SpecgenWebhookRejectionSpike", "SpecgenOdooLatencyHigh", "SpecgenEventToRowLatencyHigh")]}


def _annotate(ir: IR, tests: list[dict]) -> None:
    """Each expected alert carries the annotations its rule gives it, filled with its labels."""
    annotations = {r["alert"] + r.get("labels", {}).get("entity", ""): r["annotations"]
                   for r in rules(ir)["groups"][0]["rules"]}
    for test in tests:
        for case in test["alert_rule_test"]:
            for alert in case["exp_alerts"]:
                labels = alert["exp_labels"]
                key = case["alertname"] + (labels.get("entity", "") if case["alertname"] == "SpecgenSyncStalled" else "")
                alert["exp_annotations"] = {k: _fill(v, labels) for k, v in annotations[key].items()}


def _fill(template: str, labels: dict) -> str:
    for name, value in labels.items():
        template = template.replace("{{ $labels.%s }}" % name, value)
    return template


def dashboard(ir: IR) -> dict:
    def panel(pid, title, expr, unit, x, y, kind="timeseries"):
        return {"id": pid, "type": kind, "title": title, "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"h": 8, "w": 12, "x": x, "y": y}, "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "targets": [{"refId": "A", "expr": expr, "legendFormat": "{{instance}} {{entity}}{{model}}"}]}
    panels = [
        panel(1, "Records synced / s", "sum by (instance, entity, direction) (rate(specgen_sync_records_total[5m]))",
              "ops", 0, 0),
        panel(2, "Lag behind Odoo", "max by (instance, entity) (specgen_sync_cursor_lag_seconds)", "s", 12, 0),
        panel(3, "Errors / s by class", "sum by (instance, entity, error_class) (rate(specgen_sync_errors_total[5m]))",
              "ops", 0, 8),
        panel(4, "Dead letters (last hour)", "sum by (instance, entity) (increase(specgen_sync_dead_letters_total[1h]))",
              "short", 12, 8),
        panel(5, "Odoo call latency p50 / p95 / p99",
              "histogram_quantile(0.99, sum by (le, model) (rate(specgen_odoo_call_duration_seconds_bucket[5m])))",
              "s", 0, 16),
        panel(6, "Webhook → row latency p99",
              "histogram_quantile(0.99, sum by (le, entity) (rate(specgen_event_to_row_seconds_bucket[5m])))", "s", 12, 16),
        panel(7, "Queue depth", "max by (queue, instance) (specgen_queue_depth)", "short", 0, 24),
        panel(8, "Webhooks by outcome / s", "sum by (instance, outcome) (rate(specgen_webhook_events_total[5m]))",
              "ops", 12, 24),
        panel(9, "Oldest waiting app change", "max by (instance, entity) (specgen_outbox_oldest_age_seconds)", "s", 0, 32),
        panel(10, "Push attempts of waiting changes", "max by (instance, entity) (specgen_outbox_max_attempts)",
              "short", 12, 32),
    ]
    for quantile, ref in (("0.5", "B"), ("0.95", "C")):
        panels[4]["targets"].append({"refId": ref, "legendFormat": f"p{int(float(quantile) * 100)} {{{{model}}}}",
                                     "expr": f"histogram_quantile({quantile}, sum by (le, model) "
                                             "(rate(specgen_odoo_call_duration_seconds_bucket[5m])))"})
    return {"title": f"{ir.project.name}: sync health", "uid": f"specgen-{ir.project.name}"[:40],
            "schemaVersion": 39, "version": 1, "editable": True, "time": {"from": "now-6h", "to": "now"},
            "refresh": "1m", "tags": ["specgen", "sync"],
            "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus",
                                     "label": "Prometheus"}]},
            "panels": panels}


def render(ir: IR) -> dict[str, str]:
    if not any(t.odoo for t in ir.tables):
        return {}
    header = "# Generated by specgen from spec/schema/entities.yaml (observability). Do not edit.\n"
    return {RULES_PATH: header + _dump(rules(ir)), TESTS_PATH: header + _dump(rule_tests(ir)),
            DASHBOARD_PATH: jsondoc.dump(dashboard(ir))}
