"""The sync CLI: instances, pull/push/status/replay with --json, usage errors, and the demo."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from bridge.cli.sync import sync, webhooks
from specgen.demo import demo
from bridge.store.db import connect
from tests.runtime.support import SECRET_ENV

pytestmark = pytest.mark.db


def run(*args, env=None):
    result = CliRunner().invoke(sync, list(args), env=env, catch_exceptions=False)
    return result


@pytest.fixture
def org(db_url):
    with connect(db_url) as conn:
        return str(conn.execute("insert into app.orgs (name, slug) values ('Cli Org', 'cli-org') returning id").fetchone()["id"])


def test_instance_add_list_remove_never_stores_the_secret(db_url, org, odoo, monkeypatch):
    """An instance is registered by env var name; list shows it without any secret; remove deletes it."""
    monkeypatch.setenv("ACME_ODOO_KEY", "super-secret-value")
    monkeypatch.setenv("ACME_HOOK_KEY", "hook-hmac-value")
    r = run("instance", "add", "--name", "acme", "--url", odoo.url, "--db", "odoo", "--login", "admin",
            "--secret-env", "ACME_ODOO_KEY", "--webhook-hmac-secret-env", "ACME_HOOK_KEY", "--org", "cli-org",
            "--database-url", db_url, "--json")
    assert r.exit_code == 0, r.output
    added = json.loads(r.output)
    assert "/webhooks/odoo/" in added["webhook_path"]
    with connect(db_url) as conn:
        stored = json.dumps(conn.execute("select * from odoo.instances").fetchall(), default=str)
    assert "super-secret-value" not in stored and "ACME_ODOO_KEY" in stored
    assert "hook-hmac-value" not in stored and "ACME_HOOK_KEY" in stored
    listed = run("instance", "list", "--database-url", db_url, "--json")
    assert listed.exit_code == 0 and json.loads(listed.output)[0]["secret_set"] is True
    assert json.loads(listed.output)[0]["webhook_hmac_secret_set"] is True
    assert "super-secret-value" not in listed.output and "hook-hmac-value" not in listed.output
    human = run("instance", "list", "--database-url", db_url)
    assert "hmac=$ACME_HOOK_KEY" in human.output and "NOT SET" not in human.output
    assert run("instance", "remove", "acme", "--yes", "--database-url", db_url).exit_code == 0
    assert json.loads(run("instance", "list", "--database-url", db_url, "--json").output) == []


@pytest.mark.parametrize("args, message", [
    (["instance", "add", "--name", "x", "--url", "ftp://x", "--db", "d", "--login", "l", "--secret-env", "K", "--org", "cli-org"], "--url"),
    (["instance", "add", "--name", "x", "--url", "http://x", "--db", "d", "--login", "l", "--secret-env", "pa ss!", "--org", "cli-org"], "NAME"),
    (["instance", "add", "--name", "x", "--url", "http://x", "--db", "d", "--login", "l", "--secret-env", "K", "--org", "nope"], "no org"),
    (["instance", "add", "--name", "x", "--url", "http://x", "--db", "d", "--login", "l", "--secret-env", "K",
      "--webhook-hmac-secret-env", "the key itself", "--org", "cli-org"], "--webhook-hmac-secret-env"),
    (["pull", "--entity", "unicorn"], "unknown entity"),
    (["pull", "--instance", "ghost"], "no active instance"),
    (["replay"], "say what to replay"),
    (["replay", "--since", "yesterday-ish"], "ISO"),
    (["push", "--limit", "0"], "--limit"),
])
def test_bad_input_is_a_clear_usage_error_with_exit_2(db_url, org, args, message):
    """Mistyped options give a one-line explanation and exit code 2, never a traceback."""
    r = CliRunner().invoke(sync, [*args, "--database-url", db_url])
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output


def test_missing_database_url_and_unreachable_database(monkeypatch):
    """Without a database the CLI says how to give one (exit 2); an unreachable one is exit 1, no traceback."""
    monkeypatch.delenv("SPECGEN_DATABASE_URL", raising=False)
    r = CliRunner().invoke(sync, ["status"])
    assert r.exit_code == 2 and "SPECGEN_DATABASE_URL" in r.output
    r = CliRunner().invoke(sync, ["status", "--database-url", "host=/nonexistent-dir dbname=x connect_timeout=1"])
    assert r.exit_code == 1 and "database unreachable" in r.output and "Traceback" not in r.output


def test_pull_push_status_and_worker_once_from_the_cli(db_url, instance, odoo):
    """`sync pull`, `push`, `worker --once` and `status --json` work end to end and report counts."""
    env = {SECRET_ENV: "admin"}
    r = run("pull", "--entity", "partner", "--database-url", db_url, "--json", env=env)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["main/partner"]["read"] > 0
    with connect(db_url) as conn:
        conn.execute("insert into app.contacts (org_id, full_name) values (%s, 'From CLI')", (instance["org_id"],))
    r = run("push", "--database-url", db_url, "--json", env=env)
    assert r.exit_code == 0 and json.loads(r.output)["created"] == 1
    r = run("worker", "--once", "--database-url", db_url, "--log-level", "error", env=env)
    assert r.exit_code == 0, r.output
    status = json.loads(run("status", "--database-url", db_url, "--json").output)
    assert {c["entity"] for c in status["cursors"]} >= {"partner", "contact", "sale_order"}
    assert status["outbox"] == [{"status": "done", "n": 1, "oldest": status["outbox"][0]["oldest"]}]
    human = run("status", "--database-url", db_url)
    assert human.exit_code == 0 and "outbox: done=1" in human.output


def test_pull_continues_the_callers_w3c_trace(db_url, instance, odoo):
    """`sync pull --traceparent` (or $TRACEPARENT) makes the run continue the caller's trace; a malformed
    traceparent is a usage error, not a traceback."""
    env = {SECRET_ENV: "admin", "TRACEPARENT": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
    r = run("pull", "--entity", "product", "--database-url", db_url, "--json", env=env)
    assert r.exit_code == 0, r.output
    r = run("reconcile", "--entity", "product", "--traceparent", "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01",
            "--database-url", db_url, "--json", env={SECRET_ENV: "admin"})
    assert r.exit_code == 0, r.output
    with connect(db_url) as conn:
        runs = [(x["kind"], x["trace_id"]) for x in conn.execute("select kind, trace_id from ops.runs order by started_at")]
    assert runs == [("pull", "4bf92f3577b34da6a3ce929d0e0e4736"), ("reconcile", "ab" * 16)]
    r = run("pull", "--traceparent", "not-a-traceparent", "--database-url", db_url)
    assert r.exit_code == 2 and "is not a W3C traceparent" in r.output and "Traceback" not in r.output


def test_groups_are_exported_for_the_main_cli():
    """The main CLI can register `sync`, `webhooks` and `demo` lazily (bridge.cli.sync, specgen.demo)."""
    assert {"instance", "pull", "push", "reconcile", "process", "replay", "status", "worker"} <= set(sync.commands)
    assert "serve" in webhooks.commands and demo.name == "demo"


def test_demo_starts_everything_syncs_and_stops_cleanly(repo_root):
    """`specgen demo` brings up PostgreSQL, mock Odoo, receiver, worker and dashboard, mirrors data, and
    exits 0. The dashboard it prints answers with the token it prints."""
    import re
    import httpx
    env = {**os.environ, "PYTHONPATH": str(repo_root)}
    proc = subprocess.Popen([sys.executable, "-c", "from specgen.demo import demo; demo()", "--duration", "8",
                             "--partners", "50", "--interval", "0.5"], cwd=repo_root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = ""
        for line in proc.stdout:
            banner += line
            if "Ctrl-C stops everything" in line:
                break
        assert "specgen demo is running" in banner
        url, token = re.search(r"dashboard\s+(http://127\.0\.0\.1:\d+)/\s+\(sign in with the token (\S+)\)", banner).groups()
        summary = httpx.get(f"{url}/api/summary", headers={"authorization": f"Bearer {token}"}, timeout=10)
        assert summary.status_code == 200 and set(summary.json()) >= {"outbox", "events", "dead_letters"}
        assert httpx.get(f"{url}/api/summary", timeout=10).status_code == 401
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    assert "stopped." in err
    last = [line for line in err.splitlines() if "partners=" in line][-1]
    assert "partners=0" not in last

def test_prune_deletes_old_finished_history_and_nothing_open(db_url, instance):
    """`sync prune --keep 7d` deletes old finished runs (with their steps), done/dead events and outbox
    rows and replayed dead letters; running runs, pending work and open dead letters stay, whatever their
    age. --dry-run only counts."""
    iid = instance["id"]
    with connect(db_url) as conn:
        def run_row(status, age_days):
            rid = conn.execute("insert into ops.runs (trace_id, kind, instance_id, status, started_at, finished_at) "
                               "values (md5(random()::text), 'pull', %s, %s, now() - make_interval(days => %s), "
                               "case when %s = 'running' then null else now() - make_interval(days => %s) end) returning id",
                               (iid, status, age_days, status, age_days)).fetchone()["id"]
            conn.execute("insert into ops.run_events (run_id, trace_id, event) values (%s, 't', 'step')", (rid,))
            return rid
        old_done, old_running, new_done = run_row("succeeded", 9), run_row("running", 9), run_row("failed", 1)
        for key, status, age in (("a", "done", 9), ("b", "pending", 9), ("c", "done", 1), ("d", "dead", 9)):
            conn.execute("insert into odoo.webhook_events (instance_id, idempotency_key, odoo_model, payload, status, "
                         "received_at, processed_at, trace_id) values (%s, %s, 'res.partner', '{}', %s, "
                         "now() - make_interval(days => %s), case when %s = 'pending' then null "
                         "else now() - make_interval(days => %s) end, 't')", (iid, key, status, age, status, age))
        for replayed in (True, False):
            conn.execute("insert into odoo.dead_letters (source, instance_id, payload, reason, trace_id, created_at, "
                         "replayed_at) values ('pull', %s, '{}', 'r', 't', now() - interval '9 days', "
                         "case when %s then now() - interval '8 days' end)", (iid, replayed))
        conn.commit()
    dry = run("prune", "--dry-run", "--database-url", db_url, "--json")
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.output)["deleted"] == {"runs (and their steps)": 1, "webhook events": 2, "outbox rows": 0,
                                                 "replayed dead letters": 1}
    r = run("prune", "--keep", "7d", "--batch", "100", "--database-url", db_url)
    assert r.exit_code == 0 and r.output.startswith("deleted 1 runs (and their steps), 2 webhook events"), r.output
    with connect(db_url) as conn:
        runs = {x["id"] for x in conn.execute("select id from ops.runs")}
        steps = {x["run_id"] for x in conn.execute("select run_id from ops.run_events")}
        events = {x["idempotency_key"] for x in conn.execute("select idempotency_key from odoo.webhook_events")}
        letters = [x["replayed_at"] for x in conn.execute("select replayed_at from odoo.dead_letters")]
    assert runs == steps == {old_running, new_done} and old_done not in runs
    assert events == {"b", "c"} and letters == [None]
    bad = run("prune", "--keep", "a week", "--database-url", db_url)
    assert bad.exit_code == 2 and "expected an ISO timestamp or a duration" in bad.output


@pytest.mark.parametrize("command", [("sync", "worker"), ("webhooks", "serve"), ("dashboard",)])
def test_the_log_level_comes_from_the_environment_unless_given(command, monkeypatch):
    """SPECGEN_LOG_LEVEL sets the services' log level too; --log-level wins."""
    import click

    from specgen.cli import cli as root
    cmd = root
    for name in command:
        cmd = cmd.get_command(click.Context(root), name)
    monkeypatch.setenv("SPECGEN_LOG_LEVEL", "debug")
    assert cmd.make_context(command[-1], []).params["log_level"] == "debug"
    assert cmd.make_context(command[-1], ["--log-level", "error"]).params["log_level"] == "error"
    monkeypatch.delenv("SPECGEN_LOG_LEVEL")
    assert cmd.make_context(command[-1], []).params["log_level"] == "info"
