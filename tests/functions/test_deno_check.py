"""The rendered Edge Functions (each entry point, with every module it imports) type-check under
`deno check` (strict, Deno's default), the check can fail, and they import only what Supabase's edge
runtime and plain Deno both fetch: relative modules and npm packages at an exact version."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.functions.support import deno, deno_env, functions_dir

pytestmark = pytest.mark.deno

from generator.emit.functions import NAMES

ENTRIES = [str(Path(name) / "index.ts") for name in NAMES]
# import ... from "x", export ... from "x", import "x", import("x")
SPECIFIER = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)(["'])([^"']+)\1""")
EXACT_NPM = re.compile(r"^npm:(@[a-z0-9][\w.-]*/)?[a-z0-9][\w.-]*@\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(/[\w./-]*)?$")


def check(folder: Path, entries=ENTRIES) -> subprocess.CompletedProcess:
    return subprocess.run([deno(), "check", *entries], cwd=folder, env=deno_env(), capture_output=True,
                          text=True, timeout=300)


def test_every_function_type_checks_strictly():
    assert len(ENTRIES) == 3 and all((functions_dir() / e).is_file() for e in ENTRIES)
    r = check(functions_dir())
    assert r.returncode == 0, r.stderr + r.stdout


def test_the_repositorys_own_functions_type_check_strictly():
    """supabase/functions/ as `specgen build` wrote it for this repository's spec (committed)."""
    r = check(Path(__file__).resolve().parents[2] / "supabase" / "functions")
    assert r.returncode == 0, r.stderr + r.stdout


def test_a_type_error_fails_the_check(tmp_path):
    """An implicit any, which only strict mode refuses, in a module the entry point imports: the check
    fails and names it, so a passing check means something."""
    copy = tmp_path / "functions"
    shutil.copytree(functions_dir(), copy)
    receiver = copy / "_shared" / "receiver.ts"  # imported by webhook-receiver only
    receiver.write_text(receiver.read_text(encoding="utf-8") + "\nexport function untyped(x) { return x }\n",
                        encoding="utf-8")
    r = check(copy)
    assert r.returncode != 0 and "TS7006" in r.stderr + r.stdout, r.stderr + r.stdout


def specifiers(text: str) -> list[str]:
    code = re.sub(r"^\s*//.*$", "", text, flags=re.M)  # comments mention paths and modules too
    return [m.group(2) for m in SPECIFIER.finditer(code)]


def test_every_import_is_relative_or_an_exact_npm_version():
    files = sorted(functions_dir().rglob("*.ts"))
    assert any(f.parent.name == "_shared" for f in files) and any(f.name == "index.ts" for f in files)
    found = {f"{f.relative_to(functions_dir())}: {s}" for f in files for s in specifiers(f.read_text(encoding="utf-8"))}
    assert any(": npm:postgres@" in s for s in found) and any(": ./" in s or ": ../" in s for s in found)
    bad = sorted(s for s in found if not (s.split(": ", 1)[1].startswith(("./", "../"))
                                         or EXACT_NPM.match(s.split(": ", 1)[1])))
    assert bad == []


@pytest.mark.parametrize("spec, ok", [("./db.ts", True), ("npm:postgres@3.4.5", True), ("npm:zod@4.6.7", True),
                                      ("npm:@scope/pkg@1.2.3", True), ("npm:postgres", False),
                                      ("npm:postgres@^3.4.5", False), ("npm:zod@4", False), ("jsr:@std/http", False),
                                      ("https://deno.land/std/http/server.ts", False)])
def test_the_specifier_rule_itself(spec, ok):
    assert bool(spec.startswith(("./", "../")) or EXACT_NPM.match(spec)) is ok
    assert specifiers(f'import x from "{spec}"\nexport {{ y }} from "{spec}"\nawait import("{spec}")') == [spec] * 3
