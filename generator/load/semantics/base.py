"""The checker's plumbing: collected findings and the checks every rule family uses."""
from __future__ import annotations

from typing import Any

from generator.errors import Diagnostic
from generator.load.loader import SourceFile
from generator.names import identifier_problem
from generator.sqltypes import FieldType


class Rules:
    """What every rule family shares: the spec, the findings, and the checks of a name or an expression."""

    def __init__(self, entities: SourceFile, roles: SourceFile):
        self.ef, self.rf = entities, roles
        self.spec: dict = entities.data
        self.roles_doc: dict = roles.data
        self.out: list[Diagnostic] = []
        self.entities: dict[str, tuple[int, dict]] = {}
        self.enums: dict[str, list[str]] = dict(
            (name, e["values"]) for name, e in (self.spec.get("enums") or {}).items())
        self.field_types: dict[tuple[str, str], FieldType | None] = {}

    # -- plumbing ---------------------------------------------------------------------------
    def err(self, path: tuple, message: str, hint: str = "", key: bool = False, roles: bool = False) -> None:
        self.out.append((self.rf if roles else self.ef).diag(path, message, hint, key=key))

    def expression_ok(self, path: tuple, text: str, what: str) -> None:
        """default_sql and an index's where are pasted into SQL as written: one expression only."""
        # imported here: sqlglot takes ~0.2 s to import, which a spec without expressions need not pay
        from generator.load.expressions import expression_problem, message as expression_message

        problem = expression_problem(text)
        if problem:
            self.err(path, expression_message(what, problem[0]), problem[1])

    def name_ok(self, path: tuple, name: Any, what: str, roles: bool = False) -> None:
        problem = identifier_problem(name)
        if problem:
            self.err(path, f"{what}: {problem[0]}", problem[1], roles=roles)


def _type_text(t: FieldType) -> str:
    base = t.base
    if t.length is not None:
        base += f"({t.length})"
    elif t.precision is not None:
        base += f"({t.precision},{t.scale})"
    return base + ("[]" if t.array else "")
