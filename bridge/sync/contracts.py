"""Import the generated contracts package (generated/python) and its sync adapters."""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PATH = REPO_ROOT / "generated" / "python"
PATH_ENV = "SPECGEN_CONTRACTS_PATH"


def _package_name(path: Path) -> str:
    for child in sorted(path.iterdir()):
        if (child / "adapters.py").exists():
            return child.name
    raise FileNotFoundError(f"no generated package with adapters.py under {path}")


def load_adapters(path: str | os.PathLike | None = None) -> dict:
    """{entity: adapter class} from the generated package at ``path`` (default generated/python)."""
    base = Path(path or os.environ.get(PATH_ENV) or DEFAULT_PATH).resolve()
    if str(base) not in sys.path:
        sys.path.insert(0, str(base))
    module = importlib.import_module(f"{_package_name(base)}.adapters")
    return dict(module.ADAPTERS)


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
