"""The mock-odoo command, demo determinism and the state file."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import xmlrpc.client
from pathlib import Path

from click.testing import CliRunner

from mock_odoo.cli import mock_odoo
from mock_odoo.server import MockOdooServer

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_every_option():
    """--help documents the options from the issue."""
    result = CliRunner().invoke(mock_odoo, ["--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--db", "--login", "--password", "--demo", "--faults",
                   "--webhook-url", "--state-file", "/mock/faults"):
        assert option in result.output
    assert mock_odoo.name == "mock-odoo"


def test_bad_faults_spec_exits_2_with_a_message():
    """A bad --faults SPEC is a usage error (exit 2) with the reason, never a traceback."""
    result = CliRunner().invoke(mock_odoo, ["--faults", "res.partner: error500=lots"])
    assert result.exit_code == 2
    assert "Invalid value for '--faults'" in result.output and "probability" in result.output
    assert "Traceback" not in result.output


def test_cli_serves_prints_url_and_stops_on_sigterm(tmp_path):
    """The command prints its URL, answers XML-RPC, and on SIGTERM saves state and exits 0."""
    state = tmp_path / "state.json"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from mock_odoo.cli import mock_odoo; mock_odoo()",
         "--port", "0", "--demo", "5", "--state-file", str(state), "--db", "shop"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line
        url = line.split("listening on ")[1].split()[0]
        common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common")
        assert common.login("shop", "admin", "admin") == 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    saved = json.loads(state.read_text())
    assert saved["db"] == "shop" and saved["tables"]["res.partner"]


def test_demo_data_is_deterministic():
    """The same --demo N gives identical records every time."""
    a, b = MockOdooServer(demo=30), MockOdooServer(demo=30)
    assert a.db.dump()["tables"] == b.db.dump()["tables"]
    counts = a.state()["records"]
    assert counts["res.partner"] == 33 and counts["sale.order"] >= 5 and counts["product.product"] >= 10
    assert counts["account.move"] >= 1 and counts["res.company"] == 2


def test_state_file_round_trip(tmp_path):
    """Data written before stop() is there again after a restart with the same state file."""
    path = tmp_path / "state.json"
    with MockOdooServer(state_file=path) as first:
        obj = xmlrpc.client.ServerProxy(f"{first.url}/xmlrpc/2/object")
        pid = obj.execute_kw("odoo", 2, "admin", "res.partner", "create", [{"name": "Persisted"}])
    with MockOdooServer(state_file=path) as second:
        obj = xmlrpc.client.ServerProxy(f"{second.url}/xmlrpc/2/object")
        assert obj.execute_kw("odoo", 2, "admin", "res.partner", "read", [[pid], ["name"]]) == \
            [{"id": pid, "name": "Persisted"}]
        new = obj.execute_kw("odoo", 2, "admin", "res.partner", "create", [{"name": "Next"}])
        assert new > pid


def test_refuses_non_loopback_hosts():
    """The server class binds only to loopback unless explicitly allowed."""
    import pytest
    with pytest.raises(ValueError, match="127.0.0.1"):
        MockOdooServer(host="0.0.0.0")


def test_reset_endpoint_restores_demo_data(odoo):
    """POST /mock/reset throws away changes and reseeds the same demo data."""
    before = odoo.x("res.partner", "search_count", [])
    odoo.x("res.partner", "create", {"name": "temporary"})
    state = odoo.http.post("/mock/reset").json()
    assert odoo.x("res.partner", "search_count", []) == before
    assert state["records"]["res.partner"] >= before


def test_save_endpoint_without_state_file_is_400(odoo):
    """POST /mock/save explains that no state file is configured."""
    reply = odoo.http.post("/mock/save")
    assert reply.status_code == 400 and "state file" in reply.json()["error"]
