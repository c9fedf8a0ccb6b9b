"""The sync health dashboard (`specgen dashboard`)."""
from bridge.http.dashboard.app import create_app
from bridge.http.dashboard.auth import Auth

__all__ = ["Auth", "create_app"]
