"""Generated alert rules, their unit tests and the Grafana dashboard, judged by promtool and by the
metric contract the runtime exports."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import yaml
from tests.needs import INSTALLS, unavailable

from generator.emit import observability
from generator.pipeline import compile_ir, render_all


def _promtool() -> str:
    tool = shutil.which("promtool")
    if not tool:
        unavailable(INSTALLS["promtool"])
    return tool


def _write(files: dict, tmp_path: Path) -> Path:
    for path in (observability.RULES_PATH, observability.TESTS_PATH):
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(files[path])
    return tmp_path / observability.RULES_PATH


def test_rules_pass_promtool_check_and_their_unit_tests(repo_root, tmp_path):
    """promtool accepts the rules, and every alert fires in its scenario and stays silent when healthy."""
    tool = _promtool()
    rules = _write(render_all(compile_ir(repo_root), "20260101000000"), tmp_path)
    check = subprocess.run([tool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    test = subprocess.run([tool, "test", "rules", "alerts.test.yml"], cwd=rules.parent, capture_output=True,
                          text=True, timeout=120)
    assert test.returncode == 0, test.stdout + test.stderr


def test_rule_tests_fail_when_a_threshold_is_wrong(repo_root, tmp_path):
    """The unit tests are not vacuous: an error-rate threshold set too high stops the alert they expect."""
    tool = _promtool()
    files = render_all(compile_ir(repo_root), "20260101000000")
    rules = _write(files, tmp_path)
    rules.write_text(re.sub(r"(1e-9\) > )[0-9.]+", r"\g<1>0.99", rules.read_text()))
    test = subprocess.run([tool, "test", "rules", "alerts.test.yml"], cwd=rules.parent, capture_output=True,
                          text=True, timeout=120)
    assert test.returncode != 0
    assert "SpecgenSyncErrorRateHigh" in test.stdout + test.stderr


def test_every_alert_has_a_firing_and_a_healthy_case(repo_root):
    """Each alert name appears in a scenario that expects it, and in the all-healthy scenario that expects none."""
    ir = compile_ir(repo_root)
    names = {r["alert"] for r in observability.rules(ir)["groups"][0]["rules"]}
    tests = observability.rule_tests(ir)["tests"]
    firing = {c["alertname"] for t in tests for c in t["alert_rule_test"] if c["exp_alerts"]}
    healthy = next(t for t in tests if t["name"].startswith("everything healthy"))
    assert names - {"SpecgenEventToRowLatencyHigh"} <= firing
    assert {c["alertname"] for c in healthy["alert_rule_test"]} == names


def test_thresholds_follow_the_spec(repo_root, tmp_path):
    """observability: and sync.stall_minutes in entities.yaml set the alert thresholds."""
    shutil.copytree(repo_root / "spec", tmp_path / "spec")
    entities = tmp_path / "spec/schema/entities.yaml"
    entities.write_text(entities.read_text().replace("api:\n", "observability:\n  error_rate: 0.25\napi:\n", 1)
                        .replace("sync: {direction: pull, batch_size: 500}",
                                 "sync: {direction: pull, batch_size: 500, stall_minutes: 240}", 1))
    doc = yaml.safe_load(render_all(compile_ir(tmp_path), "20260101000000")[observability.RULES_PATH])
    exprs = {r["alert"] + r["labels"].get("entity", ""): r["expr"] for r in doc["groups"][0]["rules"]}
    assert exprs["SpecgenSyncErrorRateHigh"].endswith("> 0.25")
    assert exprs["SpecgenSyncStalledsale_order"].endswith("> 14400")
    assert exprs["SpecgenSyncStalledpartner"].endswith("> 1800")


def test_grafana_dashboard_reads_only_metrics_the_runtime_exports(repo_root):
    """Every panel query uses metric names from the runtime's metric contract."""
    doc = json.loads(render_all(compile_ir(repo_root), "20260101000000")[observability.DASHBOARD_PATH])
    assert doc["panels"] and doc["templating"]["list"][0]["type"] == "datasource"
    known = set(observability.METRICS)
    for panel in doc["panels"]:
        for target in panel["targets"]:
            used = {m.removesuffix("_bucket") for m in re.findall(r"\b(specgen_[a-z_]+)", target["expr"])}
            assert used and used <= known, (panel["title"], used - known)
