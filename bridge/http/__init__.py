"""HTTP: the webhook receiver, the dashboard, and serving them."""
