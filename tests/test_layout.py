"""The layout's rules, checked on the source (docs/architecture.md, "Layout"):

- the compiler (generator/) never imports the runtime (bridge/) or the mock Odoo, and the runtime never
  imports the compiler; both may raise from specgen.errors, a leaf; only specgen/ (the composition root)
  names them all;
- inside the runtime, each layer imports only the layers below it;
- emitters are pure (no file, process or environment access), and the writer is the one module of the
  compiler that writes generated/;
- no module over 400 lines, no function over 80;
- the installed top-level packages are specgen's own.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("generator", "bridge", "mock_odoo", "specgen")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80

# What each top-level package may import of the others. specgen.errors is the leaf every one may use.
ALLOWED = {
    "generator": {"generator", "specgen.errors", "specgen.schemas"},
    "bridge": {"bridge", "specgen.errors", "specgen.schemas"},
    # the mock shares the Odoo domain grammar with the compiler (one parser, generator/odoo_domain.py)
    "mock_odoo": {"mock_odoo", "generator.odoo_domain"},
    "specgen": {"specgen", "generator", "bridge", "mock_odoo"},
}
# Runtime layers, lowest first: a layer may import itself and those listed.
# bridge.adapters is the contract generated adapters import (field maps and the JSON codec): every layer
# that reads or writes mirrored rows uses it.
BRIDGE_LAYERS = {
    "bridge.settings": set(),
    "bridge.adapters": set(),
    "bridge.backoff": set(),
    "bridge.observe": {"bridge.settings"},
    "bridge.odoo": {"bridge.backoff", "bridge.observe", "bridge.settings"},
    "bridge.store": {"bridge.adapters", "bridge.backoff", "bridge.observe", "bridge.settings"},
    "bridge.sync": {"bridge.adapters", "bridge.backoff", "bridge.odoo", "bridge.store", "bridge.observe",
                    "bridge.settings"},
    "bridge.http": {"bridge.adapters", "bridge.sync", "bridge.store", "bridge.observe", "bridge.settings"},
    "bridge.cli": {"bridge.http", "bridge.sync", "bridge.odoo", "bridge.store", "bridge.observe",
                   "bridge.settings", "bridge.adapters"},
}
# Modules of the compiler that may touch the file system: the writer (generated/), `init` (spec/), and
# the throwaway PostgreSQL's data directory.
WRITES_ALLOWED = {"generator/writer.py", "generator/cli.py", "generator/database/cluster.py"}
WRITE_CALLS = {"write_text", "write_bytes", "unlink", "rmtree", "mkdir", "remove", "rename", "replace_file"}
IMPURE_MODULES = {"os", "subprocess", "shutil", "tempfile", "socket"}


def _sources(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, relative ones resolved, function-level ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else _module_name(path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found += [(node.lineno, f"{base}.{alias.name}" if base else alias.name) for alias in node.names]
    return found


def _within(module: str, allowed: set[str]) -> bool:
    return any(module == a or module.startswith(a + ".") for a in allowed)


def _ours(module: str) -> bool:
    return module.split(".")[0] in PACKAGES


@pytest.mark.parametrize("package", PACKAGES)
def test_packages_import_only_what_the_layout_allows(package):
    broken = [f"{p.relative_to(ROOT)}:{line}: imports {name}"
              for p in _sources(package) for line, name in _imports(p)
              if _ours(name) and not _within(name, ALLOWED[package])]
    if package == "specgen":  # the leaves import nothing of ours
        for leaf in ("specgen/errors.py", "specgen/schemas/__init__.py"):
            broken += [f"{leaf}:{line}: imports {name}" for line, name in _imports(ROOT / leaf) if _ours(name)]
    assert not broken, "\n".join(broken)


def test_runtime_layers_import_only_the_layers_below():
    broken = []
    for path in _sources("bridge"):
        name = _module_name(path)
        layer = next((lay for lay in BRIDGE_LAYERS if name == lay or name.startswith(lay + ".")), None)
        if layer is None:
            continue  # bridge/__init__.py
        allowed = BRIDGE_LAYERS[layer] | {layer}
        broken += [f"{path.relative_to(ROOT)}:{line}: {layer} imports {mod}" for line, mod in _imports(path)
                   if mod.startswith("bridge.") and not _within(mod, allowed)]
    assert not broken, "\n".join(broken)


def test_every_runtime_module_belongs_to_a_layer():
    loose = [_module_name(p) for p in _sources("bridge")
             if p.name != "__init__.py" or p.parent != ROOT / "bridge"]
    loose = [m for m in loose if not any(m == lay or m.startswith(lay + ".") for lay in BRIDGE_LAYERS)]
    assert not loose, loose


SQL_ON_PLATFORM_TABLES = re.compile(r"\b(from|into|update|join|table)\s+(odoo|ops)\.\w+", re.I)


def test_every_sql_statement_of_the_runtime_is_in_the_store():
    """bridge/store/ holds every SQL string on odoo.* and ops.*; the other layers call it."""
    found = []
    for path in _sources("bridge"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("bridge/store/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and SQL_ON_PLATFORM_TABLES.search(node.value) and not _is_docstring_like(node.value):
                found.append(f"{rel}:{node.lineno}: {node.value.strip()[:70]!r}")
    assert not found, "\n".join(found)


def _is_docstring_like(text: str) -> bool:
    """Prose that names a table (a docstring, a help text) rather than a statement."""
    return not re.match(r"\s*(select|insert|update|delete|with|copy|create|alter|drop)\b", text, re.I)


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            yield node.lineno, func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def test_emitters_are_pure_and_only_the_writer_writes():
    broken = []
    for path in _sources("generator"):
        rel = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if rel not in WRITES_ALLOWED:
            broken += [f"{rel}:{line}: calls {name}()" for line, name in _calls(tree) if name in WRITE_CALLS]
        if rel.startswith("generator/emit/"):
            broken += [f"{rel}:{line}: an emitter imports {name}" for line, name in _imports(path)
                       if name.split(".")[0] in IMPURE_MODULES or name in ("generator.writer", "pathlib.Path")]
            broken += [f"{rel}:{line}: an emitter calls {name}()" for line, name in _calls(tree)
                       if name in ("open", "getenv")]
    assert not broken, "\n".join(broken)


def _all_python() -> list[Path]:
    skip = ("golden", "node_modules", ".work", "generated")
    return [p for p in sorted(ROOT.rglob("*.py")) if not any(part in skip for part in p.relative_to(ROOT).parts)
            and not p.relative_to(ROOT).parts[0].startswith(".")]


def test_no_module_is_over_the_limit():
    long = [f"{p.relative_to(ROOT)}: {n} lines" for p in _all_python()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES]
    assert not long, "\n".join(long)


def test_no_function_is_over_the_limit():
    long = []
    for path in _all_python():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.name} is {n} lines")
    assert not long, "\n".join(long)


def test_the_installed_top_level_packages_are_specgens_own():
    import tomllib

    from setuptools import find_packages
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    top = {name.split(".")[0] for name in find_packages(str(ROOT), include=include)}
    assert top == set(PACKAGES)
