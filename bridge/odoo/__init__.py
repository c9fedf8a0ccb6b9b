"""Odoo external-API client: transport, error tree, retry policy."""
