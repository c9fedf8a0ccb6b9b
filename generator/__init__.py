"""specgen: compile the platform spec into everything Supabase and Odoo need."""

__version__ = "0.1.0"
