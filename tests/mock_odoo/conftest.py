"""Fixtures: one real mock Odoo server per test session, reset to its demo data before each test."""
from __future__ import annotations

import pytest

from mock_odoo.server import MockOdooServer
from tests.mock_odoo.support import Client


@pytest.fixture(scope="session")
def server():
    srv = MockOdooServer(demo=60).start()
    yield srv
    srv.stop()


@pytest.fixture()
def odoo(server):
    """A client on freshly reset demo data, no faults, no webhooks."""
    server.reset()
    server.faults = None
    server.webhooks.configure(urls=[], models=[], drop=0.0, fields=[])
    client = Client(server)
    yield client
    client.close()
