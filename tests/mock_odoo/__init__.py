"""Tests of the mock Odoo server (mock_odoo)."""
