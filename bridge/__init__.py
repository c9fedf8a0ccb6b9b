"""The sync runtime: Odoo client, mock Odoo server, sync engine, webhook receiver."""
