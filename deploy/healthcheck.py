#!/usr/bin/env python3
"""The container's health check (deploy/Containerfile, docs/deploy.md): asks the process the container runs.

It reads the container's command line (/proc/1/cmdline) and probes what that command serves:
- ``specgen webhooks serve``: ``GET /health`` on its --port (200 only while the database answers);
- ``specgen dashboard``: ``GET /healthz`` on its --port (the process is up; /api/health needs a credential);
- ``specgen sync worker --metrics-port N``: ``GET /metrics`` on 127.0.0.1:N;
- anything else (a worker without --metrics-port, a one-off command): healthy while it runs, since the
  container stops when its process does.

``healthcheck.py URL`` probes that URL instead. Exit 0 healthy, 1 not (what HEALTHCHECK expects).
Only the standard library: it runs every 30 s and must stay cheap.
"""
from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

# the commands' own defaults (tests/runtime/test_deploy.py holds them equal to the CLI's)
RECEIVER_PORT, DASHBOARD_PORT = 8070, 8071
RECEIVER_PATH, DASHBOARD_PATH, METRICS_PATH = "/health", "/healthz", "/metrics"
ANY_ADDRESS = ("", "0.0.0.0", "::", "[::]")


def _option(args: list[str], name: str) -> str | None:
    """The value of `--name V` or `--name=V` in args, else None."""
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg[len(name) + 1:]
    return None


def _command(argv: list[str]) -> list[str]:
    """The subcommand and its arguments after `specgen` (`specgen ...`, `python -m specgen ...`, under an
    init such as tini), without specgen's own -C/-j options."""
    start = next((i for i, arg in enumerate(argv) if Path(arg).name == "specgen"), None)
    if start is None:
        return []
    args = argv[start + 1:]
    while args and args[0] in ("-C", "--project-dir", "-j", "--jobs"):
        args = args[2:]
    while args and args[0].startswith(("--project-dir=", "--jobs=")):
        args = args[1:]
    return args


def target(argv: list[str]) -> str | None:
    """The URL that says whether the command in argv is healthy, or None (nothing to ask)."""
    args = _command(argv)
    if args[:2] == ["webhooks", "serve"]:
        port, path = _option(args, "--port") or RECEIVER_PORT, RECEIVER_PATH
    elif args[:1] == ["dashboard"]:
        port, path = _option(args, "--port") or DASHBOARD_PORT, DASHBOARD_PATH
    elif args[:2] == ["sync", "worker"] and _option(args, "--metrics-port"):
        return f"http://127.0.0.1:{_option(args, '--metrics-port')}{METRICS_PATH}"  # it binds loopback only
    else:
        return None
    host = _option(args, "--host") or "127.0.0.1"
    host = "127.0.0.1" if host in ANY_ADDRESS else (f"[{host}]" if ":" in host else host)
    return f"http://{host}:{port}{path}"


def healthy(url: str, timeout: float = 4.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - a local URL we built
            return response.status == 200
    except (OSError, ValueError):
        return False


def main(argv: list[str]) -> int:
    if argv:
        url = argv[0]
    else:
        try:
            url = target(Path("/proc/1/cmdline").read_bytes().decode(errors="replace").split("\0"))
        except OSError:
            return 0  # no /proc: nothing to ask
    if url is None:
        return 0
    ok = healthy(url)
    if not ok:
        print(f"unhealthy: {url}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
