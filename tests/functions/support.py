"""Run the generated Edge Functions under plain Deno (`pip install deno`, a dev dependency), as the tests of
the Python receiver run it: each function on a free port of 127.0.0.1, with SUPABASE_DB_URL pointing at the
test PostgreSQL, driven over HTTP.

The functions are rendered from the sync tests' own project (tests/runtime/project), like the Python
runtime's adapters, into a temporary folder once per process. npm packages (`npm:postgres`, `npm:zod`) are
fetched from the registry on first use into one cache, DENO_DIR (tests/.deno unless set)."""
from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tests.needs import unavailable

ROOT = Path(__file__).resolve().parents[2]
DENO_MISSING = "Deno is missing (`pip install -e '.[dev]'` installs it from PyPI's `deno` wheel)"
PERMISSIONS = ("--allow-net", "--allow-env", "--allow-read", "--no-prompt")


def deno() -> str:
    """The deno binary: the one the venv's `deno` wheel installed, else the PATH's."""
    beside = Path(sys.executable).parent / "deno"
    found = str(beside) if beside.exists() else shutil.which("deno")
    if not found:
        unavailable(DENO_MISSING)
    return found


def deno_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "DENO_DIR": os.environ.get("DENO_DIR", str(ROOT / "tests" / ".deno")), "NO_COLOR": "1",
            "DENO_NO_UPDATE_CHECK": "1", **extra}


@lru_cache(maxsize=1)
def functions_dir() -> Path:
    """supabase/functions/ of the sync tests' project, rendered once (removed when the process ends)."""
    from tests.runtime.project import SPEC_ROOT
    root = Path(tempfile.mkdtemp(prefix="specgen-functions-"))
    atexit.register(shutil.rmtree, root, True)
    return render_functions(SPEC_ROOT, root)


def render_functions(project: Path, root: Path) -> Path:
    """supabase/functions/ of the project whose spec is in `project`, rendered under `root`; returns it."""
    from generator.emit import functions
    from generator.pipeline import compile_ir
    for path, text in functions.render(compile_ir(project)).items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root / "supabase" / "functions"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    name: str
    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        """What the function wrote so far (its JSON log lines and Deno's own messages)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def serve(name: str, env: dict[str, str] | None = None, timeout: float = 120, functions: Path | None = None) -> Served:
    """Start function `name` (of `functions`, else the sync tests' project) and wait until it accepts
    connections (the first start fetches npm packages). Its output goes to a file, never to a pipe nobody
    reads (a full pipe would block the function)."""
    port = free_port()
    entry = (functions or functions_dir()) / name / "index.ts"
    # a unix socket (db_env) is connected to with write access to it, which Deno asks for by path
    socket_dir = (env or {}).get("PGHOST", "")
    sockets = (f"--allow-write={socket_dir}",) if socket_dir.startswith("/") else ()
    fd, log_name = tempfile.mkstemp(prefix=f"specgen-{name}-", suffix=".log")
    atexit.register(lambda: Path(log_name).unlink(missing_ok=True))
    with os.fdopen(fd, "w") as out:
        process = subprocess.Popen([deno(), "run", *PERMISSIONS, *sockets, str(entry)], cwd=entry.parent,
                                   env=deno_env(PORT=str(port), HOSTNAME="127.0.0.1", **(env or {})),
                                   stdout=out, stderr=subprocess.STDOUT, text=True)
    served = Served(name, f"http://127.0.0.1:{port}", process, Path(log_name))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{name} exited ({process.returncode}):\n{served.log()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                atexit.register(served.stop)
                return served
        except OSError:
            time.sleep(0.1)
    served.stop()
    raise AssertionError(f"{name} did not listen on {port} within {timeout} s:\n{served.log()}")


def db_env(dsn: str) -> dict[str, str]:
    """The environment that points a function at a test database. The test cluster listens on a unix socket
    only (a libpq DSN with host=<directory>), which a postgres.js URL cannot name: the URL names the database
    and PGHOST/PGUSER, which postgres.js reads when the URL has no host, the socket's directory and user."""
    from urllib.parse import quote

    from psycopg.conninfo import conninfo_to_dict
    if dsn.startswith(("postgres://", "postgresql://")):
        return {"SUPABASE_DB_URL": dsn}
    d = {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    user, port = d.get("user", "postgres"), d.get("port", "5432")
    if d.get("host", "").startswith("/"):
        return {"SUPABASE_DB_URL": f"postgresql:///{d['dbname']}", "PGHOST": d["host"], "PGUSER": user, "PGPORT": port}
    password = ":" + quote(d["password"], safe="") if d.get("password") else ""
    return {"SUPABASE_DB_URL": f"postgresql://{quote(user, safe='')}{password}@{d.get('host', 'localhost')}:{port}/"
                               f"{d['dbname']}"}
