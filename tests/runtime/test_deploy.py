"""The deployment files (deploy/, docs/deploy.md) say only what the code does.

- Every `specgen ...` command line in the image definition, the systemd units and docs/deploy.md parses
  with the real command line: the command exists, its options exist and their values are valid.
- The environment variables docs/deploy.md and the example environment file name are exactly the ones
  specgen reads: the settings' ``*_ENV`` names, the options' ``envvar=`` names and the variables an
  ``--...-env`` option names by default, the OTEL_* names the tracing reads, what uvicorn reads under the
  receiver and the dashboard, and the secrets the documented commands name (``--secret-env NAME``).
- The container's health check asks each command what it really serves, on the port it really uses.
"""
from __future__ import annotations

import importlib.util
import json
import re
import shlex
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTAINERFILE = ROOT / "deploy/Containerfile"
UNITS = {name: ROOT / "deploy/systemd" / f"specgen-{name}.service" for name in ("worker", "webhooks", "dashboard")}
ENV_EXAMPLE = ROOT / "deploy/systemd/specgen.env.example"
DOC = ROOT / "docs/deploy.md"
SHELL_OPERATORS = {"|", "||", "&&", ";", ">", ">>", "2>&1", "&"}


def _cli():
    from specgen.cli import cli
    return cli


def parse(args: list[str]) -> click.Context:
    """The context of the command `specgen ARGS` names, parsed (and validated) by click as a real
    invocation would be, without running it. A group's leftover arguments name its subcommand."""
    cli = _cli()
    cmd, ctx = cli, cli.make_context("specgen", list(args))
    while isinstance(cmd, click.Group):
        # click < 9 keeps the subcommand's name apart (protected args); click 9 leaves all in ctx.args
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        assert rest, f"`specgen {' '.join(args)}` names a group, not a command"
        name, cmd, rest = cmd.resolve_command(ctx, rest)
        ctx = cmd.make_context(name, rest, parent=ctx)
    return ctx


def _specgen_args(line: str) -> list[str] | None:
    """The arguments after `specgen` on a shell line (after `docker run ... IMAGE`, an env assignment or
    a venv path), up to a pipe or another shell operator; None when the line runs no specgen."""
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError:
        return None
    start = next((i for i, t in enumerate(tokens) if t == "specgen" or t.endswith("/bin/specgen")), None)
    if start is None:
        return None
    args = tokens[start + 1:]
    cut = next((i for i, t in enumerate(args) if t in SHELL_OPERATORS), len(args))
    return args[:cut]


def _doc_commands() -> list[list[str]]:
    """`specgen ...` in docs/deploy.md: the lines of its code blocks (continuations joined) and the
    inline code that starts with `specgen `."""
    text = DOC.read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"^```[a-z]*\n(.*?)^```", text, re.S | re.M):
        lines += block.replace("\\\n", " ").splitlines()
    lines += [span for span in re.findall(r"`([^`\n]+)`", re.sub(r"^```.*?^```", "", text, flags=re.S | re.M))
              if span.startswith("specgen ")]
    return [args for line in lines if (args := _specgen_args(line)) is not None]


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Containerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n(\s*#.*\n)*", " ", CONTAINERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _container_commands() -> list[list[str]]:
    """The CMD and every `specgen ...` the Containerfile's comments show."""
    cmd = [json.loads(rest) for word, rest in _instructions() if word == "CMD"]
    assert len(cmd) == 1 and cmd[0][0] == "specgen", cmd
    comments = [line.lstrip("# ") for line in CONTAINERFILE.read_text(encoding="utf-8").splitlines()
                if line.startswith("#")]
    return [cmd[0][1:]] + [args for line in comments if (args := _specgen_args(line.split(":", 1)[-1]))]


def _unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A systemd unit: {section: [(key, value)]}, keys repeated as systemd allows."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
        else:
            key, _, value = line.partition("=")
            current.append((key.strip(), value.strip()))
    return sections


def _exec_start(path: Path) -> list[str]:
    starts = [v for k, v in _unit(path)["Service"] if k == "ExecStart"]
    assert len(starts) == 1, starts
    args = _specgen_args(starts[0])
    assert args is not None and shlex.split(starts[0])[0].startswith("/"), starts[0]  # systemd wants a path
    return args


def _all_commands() -> list[list[str]]:
    return _container_commands() + [_exec_start(p) for p in UNITS.values()] + _doc_commands()


def test_every_command_line_shown_is_a_real_command_with_real_options():
    commands = _all_commands()
    assert len(commands) >= 10
    broken = []
    for args in commands:
        try:
            parse(args)
        except click.exceptions.Exit as done:  # --help
            if done.exit_code:
                broken.append(f"specgen {shlex.join(args)}: exit {done.exit_code}")
        except click.ClickException as exc:
            broken.append(f"specgen {shlex.join(args)}: {exc.format_message()}")
    assert not broken, "\n".join(broken)


def test_the_parser_refuses_what_the_cli_refuses():
    """The check above is live: an unknown option, a bad value or a group alone fails it."""
    with pytest.raises(click.NoSuchOption):
        parse(["sync", "worker", "--metrics-prot", "9464"])
    with pytest.raises(click.BadParameter):
        parse(["webhooks", "serve", "--port", "http"])
    with pytest.raises(click.UsageError):  # a group without its command
        parse(["-C", ".", "sync"])
    assert parse(["-C", ".", "sync", "worker", "--metrics-port", "9464"]).params["metrics_port"] == 9464


def _commands_tree():
    cli = _cli()
    stack = [(cli, click.Context(cli, info_name="specgen"))]
    while stack:
        cmd, ctx = stack.pop()
        yield cmd
        if isinstance(cmd, click.Group):
            stack += [(sub, click.Context(sub, parent=ctx, info_name=name))
                      for name in cmd.list_commands(ctx) if (sub := cmd.get_command(ctx, name)) is not None]


def _read_variables() -> dict[str, str]:
    """{variable: who reads it}."""
    import uvicorn.config

    import bridge.observe.tracing
    import bridge.settings
    read = {value: "bridge/settings.py" for name, value in vars(bridge.settings).items() if name.endswith("_ENV")}
    for cmd in _commands_tree():
        for param in cmd.params:
            envvars = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar or ())
            read.update({name: f"{cmd.name} envvar=" for name in envvars})
            if isinstance(param, click.Option) and param.name.endswith("_env") and isinstance(param.default, str):
                read.setdefault(param.default, f"{cmd.name} {param.opts[-1]}")
    tracing = Path(bridge.observe.tracing.__file__).read_text(encoding="utf-8")
    read.update({name: "bridge/observe/tracing.py" for name in re.findall(r"\bOTEL_[A-Z0-9_]+", tracing)})
    uvicorn_source = Path(uvicorn.config.__file__).read_text(encoding="utf-8")
    read.update({name: "uvicorn.config" for line in uvicorn_source.splitlines() if "os.environ" in line
                 for name in re.findall(r"\"([A-Z][A-Z0-9_]+)\"", line)})
    # the secrets a documented command tells specgen to read (`instance add --secret-env NAME`, ...)
    for args in _doc_commands():
        read.update({args[i + 1]: f"named by {args[i]}" for i, arg in enumerate(args[:-1])
                     if arg.startswith("--") and arg.endswith("-env")})
    return read


def _documented(path: Path, read: dict) -> set[str]:
    """The variables a file names: every UPPER_SNAKE word, and the read names without an underscore."""
    bare = "|".join(re.escape(name) for name in read if "_" not in name)
    pattern = rf"\b(?:{bare + '|' if bare else ''}[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b"
    return set(re.findall(pattern, path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", [DOC, ENV_EXAMPLE], ids=lambda p: p.name)
def test_the_documented_environment_is_exactly_what_is_read(path):
    read = _read_variables()
    assert {"SPECGEN_DATABASE_URL", "SPECGEN_DASHBOARD_TOKEN", "SUPABASE_JWKS", "OTEL_SERVICE_NAME",
            "TRACEPARENT", "FORWARDED_ALLOW_IPS", "ACME_ODOO_API_KEY"} <= set(read)  # the collection works
    documented = _documented(path, read)
    assert not documented - set(read), f"{path.name} documents variables nothing reads: {sorted(documented - set(read))}"
    missing = {name: who for name, who in read.items() if name not in documented}
    assert not missing, f"{path.name} does not document variables specgen reads: {missing}"


def test_the_image_and_the_units_set_only_variables_that_are_read():
    read = _read_variables() | dict.fromkeys(("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PIP_NO_CACHE_DIR",
                                              "PIP_DISABLE_PIP_VERSION_CHECK"), "python, pip")
    names = {part.split("=", 1)[0] for word, rest in _instructions() if word == "ENV" for part in rest.split()}
    assert "SPECGEN_CONTRACTS_PATH" in names and names <= set(read), names - set(read)
    for path in UNITS.values():
        assert all(k != "Environment" or v.split("=", 1)[0] in read for k, v in _unit(path)["Service"]), path


def test_the_image_is_slim_non_root_without_dev_extras_and_checks_its_health():
    steps = _instructions()
    words = [w for w, _ in steps]
    assert steps[0] == ("FROM", "python:3.11-slim")
    runs = " ".join(rest for w, rest in steps if w == "RUN")
    assert "pip install" in runs and "[dev]" not in runs and "pytest" not in runs
    user = [rest for w, rest in steps if w == "USER"]
    assert user and user[-1].split(":")[0] not in ("0", "root") and words.index("USER") > max(
        i for i, w in enumerate(words) if w == "RUN")  # nothing after it runs as root
    health = [rest for w, rest in steps if w == "HEALTHCHECK"]
    assert len(health) == 1 and "CMD" in health[0]
    probe = json.loads(health[0].split("CMD", 1)[1])
    copied = {rest.split()[-1] for w, rest in steps if w == "COPY" and "deploy/healthcheck.py" in rest}
    assert probe[-1] in copied, (probe, copied)


def test_the_units_are_hardened_and_restart_on_failure():
    for name, path in UNITS.items():
        service = dict(_unit(path)["Service"])  # the last of a repeated key
        assert service.get("DynamicUser") == "yes" or service.get("User") not in (None, "root"), name
        for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                           "PrivateTmp": "yes", "Restart": "on-failure", "CapabilityBoundingSet": ""}.items():
            assert service.get(key) == value, (name, key, service.get(key))
        assert "EnvironmentFile" in service and "Install" in _unit(path)
    expected = {"worker": ["sync", "worker"], "webhooks": ["webhooks", "serve"], "dashboard": ["dashboard"]}
    assert {n: _exec_start(p)[:len(expected[n])] for n, p in UNITS.items()} == expected


def _healthcheck():
    spec = importlib.util.spec_from_file_location("specgen_deploy_healthcheck", ROOT / "deploy/healthcheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _served(args: list[str]) -> tuple[str, int] | None:
    """(path, port) the command serves its health on, from click's own parse of the command line."""
    params = parse(args).params
    if args[:2] == ["webhooks", "serve"]:
        return "/health", params["port"]
    if args[:1] == ["dashboard"]:
        return "/healthz", params["port"]
    if args[:2] == ["sync", "worker"] and params.get("metrics_port"):
        return "/metrics", params["metrics_port"]
    return None


def test_the_health_check_asks_each_command_on_its_real_port():
    hc = _healthcheck()
    ports = {(c.name, p.name): p.default for c in _commands_tree() for p in c.params}
    assert (hc.RECEIVER_PORT, hc.DASHBOARD_PORT) == (ports[("serve", "port")], ports[("dashboard", "port")])
    seen = set()
    for args in _all_commands():
        served = _served(args) if "--help" not in args else None
        url = hc.target(["/usr/local/bin/python", "/usr/local/bin/specgen", *args])
        assert url == (f"http://127.0.0.1:{served[1]}{served[0]}" if served else None), args
        seen.add(args[0])
    assert {"sync", "webhooks", "dashboard"} <= seen
    # under an init, through python -m, after specgen's own options
    assert hc.target(["/sbin/docker-init", "--", "python", "-m", "specgen", "-C", "/srv", "dashboard", "--port=9"]) \
        == "http://127.0.0.1:9/healthz"
    assert hc.target(["specgen", "sync", "worker"]) is None and hc.main(["http://127.0.0.1:1/"]) == 1


def test_the_health_paths_are_the_apps_routes():
    """The dashboard's /healthz answers 200 with no credential and no database; the receiver's /health
    answers 503 while its database is down (a container that cannot store events is unhealthy)."""
    import urllib.error
    import urllib.request

    from bridge.http.dashboard import Auth
    from bridge.http.dashboard import create_app as dashboard_app
    from bridge.http.receiver import create_app as receiver_app
    from bridge.http.serve import ThreadedServer
    hc, down = _healthcheck(), "postgresql://127.0.0.1:1/none?connect_timeout=1"
    dashboard = ThreadedServer(dashboard_app(down, Auth(token="t" * 24))).start()
    receiver = ThreadedServer(receiver_app(down)).start()
    try:
        assert hc.healthy(hc.target(["specgen", "dashboard", "--port", str(dashboard.port)]))
        url = hc.target(["specgen", "webhooks", "serve", "--port", str(receiver.port)])
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(url, timeout=10)
        assert answer.value.code == 503 and not hc.healthy(url)
    finally:
        dashboard.stop()
        receiver.stop()
