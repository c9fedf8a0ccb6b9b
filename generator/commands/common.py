"""Small helpers the use cases share."""
from __future__ import annotations

from pathlib import Path

from generator.layout import MANIFEST, Tree
from generator.text import jsondoc


def managed(path: str) -> bool:
    """Paths `migrate` owns (migrations, snapshots): the writer never reports them as extra."""
    from generator.migrate.folder import managed as is_managed
    return is_managed(path)


def counted(files) -> tuple[int, int]:
    """(files, migrations): what build and diff both count. The migrations folder's own files (each
    migration, its snapshot) are counted as migrations; everything else, the lock included, as files."""
    from generator.layout import MIGRATIONS, SNAPSHOTS
    migrations = [p for p in files if p.startswith(MIGRATIONS + "/")]
    others = [p for p in files if not p.startswith((MIGRATIONS + "/", SNAPSHOTS + "/"))]
    return len(others), len(migrations)


def owned_files(out: Tree) -> set[str]:
    """The files specgen wrote into `out` (generated/ and the Supabase folder), as its committed manifest
    records them (outputs and stale ones). Nothing else there is specgen's: without a manifest, nothing is."""
    manifest = read_json(out / MANIFEST)
    if not isinstance(manifest, dict):
        return set()
    return set(manifest.get("outputs") or {}) | set(manifest.get("stale") or []) | {MANIFEST}


def read_json(path: Path, unless_equal_to: str | None = None):
    """A JSON file's content, or None when it is missing, unreadable, or the same text as given."""
    try:
        text = path.read_text(encoding="utf-8")
        return None if text == unless_equal_to else jsondoc.load(text)
    except (OSError, ValueError):
        return None
