"""The store: every SQL string the runtime runs on `odoo.*` and `ops.*` (connections, runs, dead letters, read models, cursors, mappings, queues, the COPY codec)."""
