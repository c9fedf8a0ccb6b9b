"""The one place that writes generated files: write what the spec produces, or compare it with the disk.

Paths are logical (generator/layout.py): `out / path` is where one lives, in generated/ or in the
project's Supabase folder. specgen owns only what it wrote: the files its manifest records (`owned`).
Anything else there (the Supabase project's config.toml, seed.sql, .temp/, an Edge Function) is never
reported as extra and never deleted."""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path

from generator.layout import Tree

IGNORED_DIRS = {"node_modules", "__pycache__", ".pytest_cache"}


@dataclass
class Drift:
    edited: dict[str, str] = field(default_factory=dict)  # path -> unified diff
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.edited or self.missing or self.extra)

    def report(self, shown=lambda path: path) -> str:
        """`shown`: how a path is named (Tree.shown: relative to the project root)."""
        lines = []
        for path in sorted(self.edited):
            lines.append(f"edited: {shown(path)}")
            lines.append(self.edited[path].rstrip("\n"))
        lines += [f"missing: {shown(path)}" for path in self.missing]
        lines += [f"extra: {shown(path)} (not produced by the spec)" for path in self.extra]
        n = len(self.edited) + len(self.missing) + len(self.extra)
        lines.append(f"{n} file{'s' if n != 1 else ''} {'differ' if n != 1 else 'differs'} from what the spec "
                     f"produces; run `specgen build` and commit the result")
        return "\n".join(lines)


def existing_files(out_dir: Path) -> list[str]:
    """Every file under a plain folder (a golden tree), sorted."""
    if not out_dir.is_dir():
        return []
    found = []
    for dirpath, dirnames, filenames in os.walk(out_dir):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_DIRS)
        for name in filenames:
            found.append((Path(dirpath) / name).relative_to(out_dir).as_posix())
    return sorted(found)


def compare(out_dir: Tree | Path, files: dict[str, str], owned_elsewhere=lambda path: False, owned=()) -> Drift:
    """Drift between `files` and the disk. Extra: a file specgen wrote (`owned`) that the spec no longer
    produces. Paths for which `owned_elsewhere` is true (the migrations, which `migrate` owns and the lock
    checks) are neither missing nor extra."""
    drift = Drift()
    for path, text in files.items():
        target = out_dir / path
        if not target.is_file():
            drift.missing.append(path)
            continue
        current = target.read_bytes().decode("utf-8", "replace")
        if current != text:
            diff = difflib.unified_diff(current.splitlines(keepends=True), text.splitlines(keepends=True),
                                        f"a/{path} (on disk)", f"b/{path} (from spec)", n=2)
            drift.edited[path] = "".join(diff)
    drift.extra = stale(out_dir, files, owned, owned_elsewhere)
    return drift


def stale(out_dir: Tree | Path, files: dict[str, str], owned, owned_elsewhere=lambda path: False) -> list[str]:
    """Files specgen wrote (`owned`) that are still on disk and that the spec no longer produces."""
    return sorted(p for p in set(owned) if p not in files and not owned_elsewhere(p) and (out_dir / p).is_file())


def write(out_dir: Tree | Path, files: dict[str, str], prune: bool = True,
          owned_elsewhere=lambda path: False, owned=()) -> tuple[list[str], list[str]]:
    """Write changed files and, with `prune`, remove the stale ones: files specgen wrote (`owned`) that the
    spec no longer produces, never those owned elsewhere nor anyone else's. Returns (written, removed)."""
    written, removed = [], []
    for path, text in files.items():
        target = out_dir / path
        data = text.encode("utf-8")
        if target.is_file() and target.read_bytes() == data:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        written.append(path)
    if prune:
        for path in stale(out_dir, files, owned, owned_elsewhere):
            (out_dir / path).unlink()
            removed.append(path)
            area = out_dir.area(path) if isinstance(out_dir, Tree) else out_dir
            for parent in (out_dir / path).parents:  # the folders the removal emptied, and no others
                if parent == area or not parent.is_relative_to(area) or any(parent.iterdir()):
                    break
                parent.rmdir()
    return written, removed
