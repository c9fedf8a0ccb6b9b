"""Where things live in a project. A leaf module, so the command line can name them without importing
the compiler.

Generated paths are logical: `supabase/...` (migrations, snapshots, the lock, the pgTAP suite,
config.toml's two keys) is the Supabase project's own folder, at the root where `supabase init` puts it
or where the spec's `project.supabase_dir` says; everything else goes into generated/. `Tree` maps one to
the other; nothing else joins a generated path to the disk."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ENTITIES_PATH = "spec/schema/entities.yaml"
ROLES_PATH = "spec/auth/roles.yaml"
GENERATED = "generated"
SUPABASE = "supabase"  # the logical prefix, and the default folder (the Supabase CLI's <workdir>/supabase)
LEGACY_SUPABASE_DIR = "generated/supabase"  # where earlier specgen wrote the Supabase folder
MANIFEST = "manifest.json"
MIGRATIONS = "supabase/migrations"
SNAPSHOTS = "supabase/snapshots"
LOCK = "supabase/migrations.lock.json"
TEST_DATABASE_URL_ENV = "SPECGEN_TEST_DATABASE_URL"  # a server for throwaway databases (tests, verify)


def in_supabase(path: str) -> bool:
    return path == SUPABASE or path.startswith(SUPABASE + "/")


@dataclass(frozen=True)
class Tree:
    """A project's generated files on disk: `tree / "supabase/migrations"` is the path of a logical one."""
    root: Path
    supabase_dir: str = SUPABASE  # relative to root, posix, its last part `supabase`

    def __truediv__(self, path: str) -> Path:
        return self.root / self.shown(path)

    def shown(self, path: str) -> str:
        """The path relative to the project root, as messages name it."""
        if in_supabase(path):
            return self.supabase_dir + path[len(SUPABASE):]
        return f"{GENERATED}/{path}"

    def area(self, path: str) -> Path:
        """The folder a logical path lives under (never removed when it empties)."""
        return self.root / (self.supabase_dir if in_supabase(path) else GENERATED)

    def legacy_folder(self) -> Path | None:
        """generated/supabase/ as earlier specgen wrote it, when it holds specgen's lock and the configured folder
        holds none: the migrations must be moved, not made again."""
        old = self.root / LEGACY_SUPABASE_DIR
        if self.supabase_dir != LEGACY_SUPABASE_DIR and (old / "migrations.lock.json").is_file() \
                and not (self / LOCK).is_file():
            return old
        return None
