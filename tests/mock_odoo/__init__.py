"""Tests of the mock Odoo server (bridge/mock_odoo)."""
