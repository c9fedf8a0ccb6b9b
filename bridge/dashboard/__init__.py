"""The sync health dashboard (`specgen dashboard`)."""
from bridge.dashboard.app import create_app
from bridge.dashboard.auth import Auth

__all__ = ["Auth", "create_app"]
