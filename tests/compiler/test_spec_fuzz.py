"""Fuzz `specgen check` with mutations of the starter spec (issue 15, section 4).

Whatever the input, check either refuses it with exit 2 and every finding at file:line:col, or accepts
it, and then `build` (render_all of compile_ir) succeeds. No traceback, for any mutation of keys, value
types, nesting or bytes. The run is derandomized, so CI sees the same examples every time.
"""
from __future__ import annotations

import copy
import os
import re
from importlib import resources
from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.cli import cli
from generator.pipeline import compile_ir, render_all

STARTER = resources.files("generator.load").joinpath("starter")
TEXTS = {"entities": STARTER.joinpath("entities.yaml").read_text(encoding="utf-8"),
         "roles": STARTER.joinpath("roles.yaml").read_text(encoding="utf-8")}
DATA = {name: yaml.safe_load(text) for name, text in TEXTS.items()}
PATHS = {"entities": "spec/schema/entities.yaml", "roles": "spec/auth/roles.yaml"}
LOCATED = re.compile(r"^spec/(schema/entities|auth/roles)\.yaml:\d+:\d+: error: ", re.M)

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["", "id", "org", "text", "uuid", "enum", "numeric(4,2)",
                                                           "varchar(0)", "auth.users", "cascade", "set null",
                                                           "member", "owner", "odoo", "shared", "global", "own"]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.one_of(st.text(max_size=8), SCALARS), inner, max_size=3), max_leaves=6)


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*path, i))


def _get(value, path):
    for part in path:
        value = value[part]
    return value


@st.composite
def data_mutation(draw):
    """Replace, delete, rename or wrap one value of one file, a few times over."""
    data = copy.deepcopy(DATA)
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(sorted(data)))
        paths = list(_paths(data[name]))[1:]
        path = draw(st.sampled_from(paths))
        parent, last = _get(data[name], path[:-1]), path[-1]
        action = draw(st.sampled_from(["replace", "delete", "rename", "wrap", "copy"]))
        if action == "replace":
            parent[last] = draw(VALUES)
        elif action == "delete":
            del parent[last]
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.one_of(st.text(max_size=10), SCALARS))] = parent.pop(last)
        elif action == "wrap":
            parent[last] = draw(st.sampled_from([[parent[last]], {"x": parent[last]}]))
        elif action == "copy" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
    texts = {}
    for name, value in data.items():
        try:
            texts[name] = yaml.safe_dump(value, allow_unicode=True, sort_keys=False)
        except yaml.YAMLError:
            texts[name] = TEXTS[name]
    return {name: text.encode("utf-8", "surrogatepass") for name, text in texts.items()}


@st.composite
def byte_mutation(draw):
    """Insert, delete or overwrite a few bytes of one file's text (tabs, NULs, BOMs, quotes, brackets...)."""
    files = {name: text.encode("utf-8") for name, text in TEXTS.items()}
    name = draw(st.sampled_from(sorted(files)))
    raw = bytearray(files[name])
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(raw)))
        chunk = draw(st.one_of(st.binary(min_size=1, max_size=3),
                               st.sampled_from([b"\t", b"\x00", b"\xef\xbb\xbf", b"\x07", b"'", b'"', b"[", b"{",
                                                b",", b": ", b"- ", b"\n", b"  ", b"#", b"&a ", b"*a", b"!!str ",
                                                b"? ", b"\\", b"%YAML 1.2\n---\n", b"...\n"])))
        how = draw(st.sampled_from(["insert", "delete", "overwrite"]))
        if how == "insert":
            raw[at:at] = chunk
        elif how == "delete":
            del raw[at:at + len(chunk)]
        else:
            raw[at:at + len(chunk)] = chunk
    files[name] = bytes(raw)
    return files


def _write(root: Path, files: dict[str, bytes]) -> None:
    for name, raw in files.items():
        target = root / PATHS[name]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(raw)


def _judge(tmp_path_factory, files: dict[str, bytes]) -> None:
    root = tmp_path_factory.mktemp("fuzz")
    _write(root, files)
    result = CliRunner().invoke(cli, ["check", "-C", str(root)])
    if result.exit_code == 0:
        assert result.exception is None
        render_all(compile_ir(root), "20260101000000")  # raises on any crash in build
        return
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), (
        f"check crashed: {result.exception!r}\n{result.output}")
    findings = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert findings, result.stderr
    assert all(LOCATED.match(line) for line in findings), result.stderr
    assert "Traceback" not in result.output


# SPECGEN_FUZZ_EXAMPLES=5000 SPECGEN_FUZZ_RANDOM=1 explores further (new examples each run) when hunting.
FUZZ = settings(max_examples=int(os.environ.get("SPECGEN_FUZZ_EXAMPLES", "200")), deadline=None,
                derandomize=os.environ.get("SPECGEN_FUZZ_RANDOM") != "1", database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])


@FUZZ
@given(files=data_mutation())
def test_check_never_crashes_on_mutated_data(tmp_path_factory, files):
    _judge(tmp_path_factory, files)


@FUZZ
@given(files=byte_mutation())
def test_check_never_crashes_on_mutated_bytes(tmp_path_factory, files):
    _judge(tmp_path_factory, files)
