"""Start a throwaway PostgreSQL: the system's binaries, else the pgserver wheel, else a given URL.

As root, `initdb` refuses to run, so the cluster runs as the `postgres` user through runuser.
Each cluster listens only on a unix socket in its own temp directory (no TCP port is opened).
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import psycopg
import psycopg.sql

from generator.layout import TEST_DATABASE_URL_ENV as URL_ENV  # noqa: E402


class NoPostgres(RuntimeError):
    """No way to get a PostgreSQL server on this machine."""


def standin_sql() -> str:
    return resources.files("generator.database").joinpath("supabase_standin.sql").read_text(encoding="utf-8")


def find_pg_bin() -> Path | None:
    """The newest system PostgreSQL (15 or later) with initdb and pg_ctl."""
    candidates = []
    for path in glob.glob("/usr/lib/postgresql/*/bin"):
        try:
            version = int(Path(path).parent.name)
        except ValueError:
            continue
        if version >= 15 and (Path(path) / "initdb").exists():
            candidates.append((version, Path(path)))
    return max(candidates)[1] if candidates else None


@dataclass
class Cluster:
    """A running server and how to reach it. Use `database()` for a fresh database per test."""

    conninfo: str  # maintenance connection (database postgres)
    kind: str  # "system", "pgserver" or "external"
    _stop: object = field(default=None, repr=False)
    _dir: str | None = field(default=None, repr=False)
    _ctl: object = field(default=None, repr=False)  # pg_ctl start/stop of a system cluster

    def stop_server(self) -> None:
        """Stop the server at once (``pg_ctl stop -m immediate``, like a crash); `start_server` again.
        Only for a cluster of the system's binaries (fault tests)."""
        if not callable(self._ctl):
            raise NoPostgres(f"a {self.kind} cluster cannot be stopped and started")
        self._ctl("stop")

    def start_server(self) -> None:
        self._ctl("start")

    def url_for(self, dbname: str) -> str:
        params = psycopg.conninfo.conninfo_to_dict(self.conninfo)
        params["dbname"] = dbname
        return psycopg.conninfo.make_conninfo(**params)

    def create_database(self, template: str | None = None, prefix: str = "t") -> str:
        """A new database; from a template it also gets the template's own settings (`alter database ...
        set`, such as the stand-in's search_path), which PostgreSQL does not copy."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            tmpl = f" template {template}" if template else ""
            conn.execute(f"create database {name}{tmpl}")
            if template:
                _copy_database_settings(conn, template, name)
        return name

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute(f"drop database if exists {name} with (force)")

    def stop(self) -> None:
        if callable(self._stop):
            self._stop()
            self._stop = None
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


# Settings whose stored value is a list written as SQL (`"$user", public, extensions`), not one string.
_LIST_SETTINGS = frozenset({"search_path", "temp_tablespaces", "local_preload_libraries", "session_preload_libraries"})


def _copy_database_settings(conn: psycopg.Connection, source: str, target: str) -> None:
    rows = conn.execute(
        "select unnest(s.setconfig) from pg_db_role_setting s join pg_database d on d.oid = s.setdatabase"
        " where d.datname = %s and s.setrole = 0", (source,)).fetchall()
    for (setting,) in rows:
        key, _, value = setting.partition("=")
        name = psycopg.sql.Identifier(*key.split(".")).as_string(conn)
        rendered = value if key in _LIST_SETTINGS else psycopg.sql.Literal(value).as_string(conn)
        conn.execute(f"alter database {target} set {name} = {rendered}")


def start_cluster(url: str | None = None, preload: tuple[str, ...] = (),
                  settings: dict[str, str] | None = None) -> Cluster:
    """A server for tests and `verify`: an explicit URL wins (the callers read it from $URL_ENV), then
    system binaries, then pgserver. `preload` (more shared_preload_libraries) and `settings` (server
    settings, such as pg_cron's cron.database_name) need a server of the system's binaries."""
    custom = bool(preload or settings)
    if url and not custom:
        return Cluster(url, "external")
    pg_bin = find_pg_bin()
    if pg_bin:
        return _start_system(pg_bin, preload, settings or {})
    if custom:
        raise NoPostgres("preloaded libraries and server settings need PostgreSQL's own binaries (15+)")
    try:
        import pgserver  # type: ignore
    except ImportError:
        raise NoPostgres("no PostgreSQL found: install PostgreSQL 15+ (apt-get install postgresql), "
                         f"`pip install pgserver`, or set {URL_ENV}") from None
    tmp = tempfile.mkdtemp(prefix="specgen-pgserver-")
    server = pgserver.get_server(tmp, cleanup_mode="stop")
    return Cluster(server.get_uri(), "pgserver", _stop=server.cleanup, _dir=tmp)


def _start_system(pg_bin: Path, preload: tuple[str, ...] = (), settings: dict[str, str] | None = None) -> Cluster:
    libraries = [lib for lib in ("pg_stat_statements", *preload) if (pg_bin.parent / "lib" / f"{lib}.so").exists()]
    missing = sorted(set(preload) - set(libraries))
    if missing:
        raise NoPostgres(f"{', '.join(missing)} not installed for PostgreSQL {pg_bin.parent.name}")
    root = os.geteuid() == 0
    tmp = tempfile.mkdtemp(prefix="specgen-pg-")
    data, sock = Path(tmp) / "data", Path(tmp) / "sock"
    data.mkdir()
    sock.mkdir()
    prefix: list[str] = []
    if root:
        shutil.chown(tmp, "postgres")
        for p in (data, sock):
            shutil.chown(p, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]

    def run(*args: str) -> None:
        result = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise NoPostgres(f"{Path(args[0]).name} failed: {result.stderr.strip() or result.stdout.strip()}")

    run(str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
        "--locale=C", "--no-sync")
    options = f"-c listen_addresses='' -k {sock} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    if libraries:  # pg_stat_statements as on Supabase (the stand-in enables it)
        options += f" -c shared_preload_libraries={','.join(libraries)}"
    options += "".join(f" -c {name}={value}" for name, value in (settings or {}).items())
    run(str(pg_bin / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(Path(tmp) / "log"), "-w", "start")

    def ctl(action: str) -> None:
        if action == "start":
            run(str(pg_bin / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(Path(tmp) / "log"), "-w", "start")
        else:
            run(str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")

    def stop() -> None:
        subprocess.run([*prefix, str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)

    conninfo = psycopg.conninfo.make_conninfo(host=str(sock), user="postgres", dbname="postgres")
    return Cluster(conninfo, "system", _stop=stop, _dir=tmp, _ctl=ctl)


def apply_sql(url: str, sql: str) -> None:
    """Run a script in one transaction, as the Supabase CLI applies a migration file."""
    with psycopg.connect(url) as conn:
        conn.execute(sql)


def apply_migrations(url: str, migrations_dir: Path) -> list[Path]:
    """Apply every migration in `migrations_dir` in name order, each in one transaction; the paths applied."""
    paths = sorted(migrations_dir.glob("*.sql"))
    for path in paths:
        apply_sql(url, path.read_text())
    return paths
