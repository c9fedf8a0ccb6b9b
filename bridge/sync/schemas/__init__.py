"""Published JSON Schemas of the sync runtime (package data)."""
