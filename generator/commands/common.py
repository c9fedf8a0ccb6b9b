"""Small helpers the use cases share."""
from __future__ import annotations

from pathlib import Path

from generator.text import jsondoc


def managed(path: str) -> bool:
    """Paths `migrate` owns (migrations, snapshots): the writer never reports them as extra."""
    from generator.migrate.folder import managed as is_managed
    return is_managed(path)


def read_json(path: Path, unless_equal_to: str | None = None):
    """A JSON file's content, or None when it is missing, unreadable, or the same text as given."""
    try:
        text = path.read_text(encoding="utf-8")
        return None if text == unless_equal_to else jsondoc.load(text)
    except (OSError, ValueError):
        return None
