"""The migrations folder: committed migrations, the IR snapshot recorded with each, and a lock of checksums.

Layout under the project's Supabase folder (supabase/ at the root by default; the Supabase CLI applies
migrations/*.sql in name order):
  migrations/<14-digit UTC timestamp>_<name>.sql
  snapshots/<same name>.ir.json       the IR after that migration and its schema objects, for the planner
  migrations.lock.json                file names in order, with their sha256 ("by": "hand" for the
                                      migrations written by hand: SQL the spec cannot say)

A migration file newer than every recorded one and not in the lock is a hand-written migration
(`supabase migration new`, `specgen migrate --empty NAME`): not a problem; `build` and `migrate` record it
(from then on it is append-only like the rest), and the planner goes on from the newest generated one.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path

from generator.emit import sql
from generator.emit.sqlobjects import SqlObject, from_doc, script
from generator.ir import IR
from generator.ir.snapshot import dump_ir, load_snapshot
from generator.layout import LOCK, MIGRATIONS, SNAPSHOTS, Tree  # noqa: F401 (named here as folder.X too)
from generator.migrate import legacy_snapshot
from generator.text import jsondoc

NAME = re.compile(r"^(\d{14})_([a-z0-9_]+)\.sql$")


def managed(path: str) -> bool:
    """Files that `migrate` owns: build never regenerates them, diff checks them against the lock."""
    return path.startswith(MIGRATIONS + "/") or path.startswith(SNAPSHOTS + "/") or path == LOCK


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def snapshot_path(migration: str) -> str:
    return f"{SNAPSHOTS}/{migration[:-4]}.ir.json"


def fingerprint(ir: IR) -> str:
    """What a migration must capture: the IR without what never reaches the database (the spec files'
    hashes, the acknowledgements, the project's name, version and package, and the push's external_ref)."""
    tables = tuple(replace(t, odoo=replace(t.odoo, external_ref=None)) if t.odoo and t.odoo.external_ref else t
                   for t in ir.tables)
    return dump_ir(replace(ir, tables=tables, inputs=(), acknowledged=(),
                           project=replace(ir.project, version="", package="", description="")))


def lock_text(entries: list[tuple[str, str]], fingerprint_sha: str, schema_sha: str, hand=frozenset()) -> str:
    return jsondoc.dump({"format": 1, "migrations": [{"file": f, "sha256": h, **({"by": "hand"} if f in hand else {})}
                                                     for f, h in entries],
                         "spec_fingerprint": fingerprint_sha, "schema_sql": schema_sha})


def migration_files(ir: IR, migrations: list[tuple[str, str]], previous: list[tuple[str, str]],
                    schema_sql: str | None = None, hand=frozenset()) -> dict[str, str]:
    """The files new migrations add or change: themselves, the snapshot of the last one, and the lock.

    `migrations` is [(file name, text)] in name order (a migration and, when it adds constraints
    `not valid`, the one that validates them). The lock also records a hash of the spec's fingerprint
    after them, so checking that the spec is captured costs one hash, not reading the snapshot back.
    `schema_sql` is `sql.render_baseline(ir)`, passed when the caller has it already."""
    objects = sql.objects(ir)
    if schema_sql is None:
        schema_sql = script(sql.HEADER, objects)
    files = {f"{MIGRATIONS}/{name}": text for name, text in migrations}
    files[snapshot_path(migrations[-1][0])] = dump_ir(ir, objects)
    files[LOCK] = lock_text([*previous, *((name, sha256(text)) for name, text in migrations)],
                            sha256(fingerprint(ir)), sha256(schema_sql), hand)
    return files


def with_pending_hand(state: "Folder") -> tuple[list[tuple[str, str]], frozenset]:
    """The lock's entries with the pending hand-written migrations recorded after the rest (in name
    order), and the names of all hand-written ones."""
    entries = [*state.lock, *((f, sha256(state.texts[f])) for f in state.pending_hand)]
    return entries, state.hand | frozenset(state.pending_hand)


def recorded_hand(state: "Folder") -> str | None:
    """The lock with the pending hand-written migrations recorded, or None when there are none. The
    spec's digests stay those of the newest generated migration."""
    if not state.pending_hand:
        return None
    entries, hand = with_pending_hand(state)
    return lock_text(entries, state.fingerprint_sha, state.schema_sha, hand)


def stamp_after(stamp: str) -> str:
    """The timestamp one second later: the name of a migration that must run right after another."""
    return (_dt.datetime.strptime(stamp, "%Y%m%d%H%M%S") + _dt.timedelta(seconds=1)).strftime("%Y%m%d%H%M%S")


def next_stamp(out: Path, now: _dt.datetime | None = None) -> str:
    """Now in UTC, or one second after the newest migration if that is later (names must increase)."""
    stamp = (now or _dt.datetime.now(_dt.timezone.utc)).strftime("%Y%m%d%H%M%S")
    existing = [m.group(1) for p in _listing(out) if (m := NAME.match(p))]
    if existing and stamp <= max(existing):
        stamp = stamp_after(max(existing))
    return stamp


def _listing(out: Path) -> list[str]:
    folder = out / MIGRATIONS
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


@dataclass
class Folder:
    """What is on disk, read once."""

    files: list[str]  # migration file names, sorted
    texts: dict[str, str]
    lock: list[tuple[str, str]]  # (file, sha256) as recorded
    fingerprint_sha: str | None  # of the spec captured by the newest migration
    schema_sha: str | None  # of the schema SQL the compiler produced for it
    snapshot_file: Path | None
    problems: list[str]
    hand: frozenset = frozenset()  # recorded migrations written by hand
    pending_hand: tuple[str, ...] = ()  # hand-written migrations not recorded yet (newer than the rest)

    @property
    def empty(self) -> bool:
        return not self.files and not self.lock

    @property
    def snapshot(self) -> IR | None:
        """The IR after the newest recorded migration (read on first use: it is large)."""
        return self._read()[0]

    @property
    def snapshot_objects(self) -> list[SqlObject] | None:
        """The schema objects the compiler produced for that IR, when the snapshot recorded them (or, in
        an old snapshot, the schema SQL they are read from)."""
        return self._read()[1]

    def _read(self) -> tuple[IR | None, list[SqlObject] | None]:
        if self.snapshot_file is None:
            return (None, None)
        if not hasattr(self, "_snapshot"):
            snap = load_snapshot(self.snapshot_file.read_text(encoding="utf-8"))
            if snap.objects is not None:
                objects = [from_doc(o) for o in snap.objects]
            elif snap.schema_sql is not None:
                objects = legacy_snapshot.objects_of(snap.schema_sql)
            else:
                objects = None
            self._snapshot = (snap.ir, objects)
        return self._snapshot


def _sharing_a_stamp(files: list[str], recorded: list[str]) -> dict[str, str]:
    """{file: the other file with its timestamp} for the files to rename: of two sharing one (the CLI's
    supabase_migrations.schema_migrations is keyed by it), the one not in the lock, else the later name."""
    keep: dict[str, str] = {}
    for f in sorted(files, key=lambda f: (f not in recorded, f)):
        keep.setdefault(f[:14], f)
    return {f: keep[f[:14]] for f in files if keep[f[:14]] != f}


def read_folder(out: Tree | Path) -> Folder:
    """`out`: the project's tree (a plain folder in tests: the logical layout). Problems name paths as
    the project shows them."""
    shown = out.shown if isinstance(out, Tree) else (lambda path: path)
    problems: list[str] = []
    names = _listing(out)
    files = []
    for n in names:
        if NAME.match(n):
            files.append(n)
        else:
            problems.append(f"{shown(MIGRATIONS)}/{n}: not a migration name (<14-digit timestamp>_<lower_snake_name>.sql)")
    texts = {n: (out / MIGRATIONS / n).read_text(encoding="utf-8") for n in files}
    lock: list[tuple[str, str]] = []
    hand: frozenset = frozenset()
    fingerprint_sha = schema_sha = None
    lock_file = out / LOCK
    if lock_file.is_file():
        try:
            doc = jsondoc.load(lock_file.read_text())
            lock = [(e["file"], e["sha256"]) for e in doc["migrations"]]
            hand = frozenset(e["file"] for e in doc["migrations"] if e.get("by") == "hand")
            fingerprint_sha = doc.get("spec_fingerprint")
            schema_sha = doc.get("schema_sql")
        except (ValueError, KeyError, TypeError):
            problems.append(f"{shown(LOCK)}: unreadable; restore it from git")
    elif files:
        problems.append(f"{shown(LOCK)}: missing; restore it from git (it records which migrations were generated)")
    recorded = [f for f, _ in lock]
    if recorded != sorted(recorded):
        problems.append(f"{shown(LOCK)}: migrations are recorded out of name order")
    for f, digest in lock:
        if f not in texts:
            problems.append(f"{shown(MIGRATIONS)}/{f}: recorded in the lock but missing")
        elif sha256(texts[f]) != digest:
            when = ("recorded (a hand-written migration is recorded by the next `specgen build`)" if f in hand
                    else "generated")
            problems.append(f"{shown(MIGRATIONS)}/{f}: edited after it was {when} (checksum differs from the lock); "
                            "committed migrations are append-only: revert the edit and add a new migration")
    pending = tuple(f for f in files if f not in recorded and recorded and f > recorded[-1])
    shared = _sharing_a_stamp(files, recorded)
    for f in files:
        if f in shared:
            problems.append(f"{shown(MIGRATIONS)}/{f}: has the timestamp of {shared[f]}; the Supabase CLI records "
                            f"a migration by its timestamp, so two cannot share one: rename {f} to a later one")
        elif f not in recorded and f not in pending:
            problems.append(f"{shown(MIGRATIONS)}/{f}: not recorded in the lock and older than recorded migrations: "
                            "migrations are out of order (name a hand-written one after the newest)")
    snapshot_file = None
    generated = [f for f in recorded if f not in hand]
    if generated:
        path = out / snapshot_path(generated[-1])
        if path.is_file():
            snapshot_file = path
        else:
            problems.append(f"{shown(snapshot_path(generated[-1]))}: missing; restore it from git")
    return Folder(files, texts, lock, fingerprint_sha, schema_sha, snapshot_file, problems, hand, pending)
