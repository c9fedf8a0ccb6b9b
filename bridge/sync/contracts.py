"""Load the generated contracts package (generated/python/<name>/) and its sync adapters.

The package is named by a path (the CLI passes `Settings.contracts_path`, else the project's
generated/python), loaded from there under its own name, with no change to ``sys.path``.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path


def _package_dir(path: Path) -> Path:
    for child in sorted(path.iterdir()) if path.is_dir() else []:
        if (child / "adapters.py").exists() and (child / "__init__.py").exists():
            return child
    raise FileNotFoundError(f"no generated package with adapters.py under {path} (run `specgen build`, or set "
                            "SPECGEN_CONTRACTS_PATH to the folder holding it)")


def _register(package: Path) -> str:
    """Make `package` importable under its folder's name; one loaded from another folder is replaced."""
    name = package.name
    loaded = sys.modules.get(name)
    if loaded is not None and [str(package)] != list(getattr(loaded, "__path__", [])):
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[key]
        loaded = None
    if loaded is None:
        spec = importlib.util.spec_from_file_location(name, package / "__init__.py",
                                                      submodule_search_locations=[str(package)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return name


def load_adapters(path: str | os.PathLike) -> dict:
    """{entity: adapter class} from the generated package in the folder ``path`` (e.g. generated/python)."""
    name = _register(_package_dir(Path(path).resolve()))
    return dict(importlib.import_module(f"{name}.adapters").ADAPTERS)


def pull_order(adapters: dict) -> list:
    """Adapters that pull, targets of many2ones before the entities pointing at them."""
    pulling = {name: a for name, a in adapters.items() if a.pulls()}
    done: list = []
    seen: set[str] = set()

    def visit(name: str, stack: tuple = ()) -> None:
        if name in seen or name not in pulling or name in stack:
            return
        for fm in pulling[name].many2ones():
            if fm.target != name:
                visit(fm.target, stack + (name,))
        seen.add(name)
        done.append(pulling[name])

    for name in sorted(pulling):
        visit(name)
    return done
