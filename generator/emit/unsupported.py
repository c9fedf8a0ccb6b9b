"""What a target cannot express, as diagnostics with a level (after sqlglot's `unsupported()`).

An emitter's output stays what it is; its `unsupported(ir)` says what that output leaves out or narrows,
so a caller can show it, fail on it, or let it pass:

- "ignore": known and harmless (the database decides anyway, e.g. it rounds numeric(p, s) to s places);
- "warn": the target checks less or differently than the database, e.g. a bound it cannot carry;
- "raise": the target cannot be generated faithfully at all; `report` raises UnsupportedError.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from specgen.errors import InvalidInput

LEVELS = ("ignore", "warn", "raise")


@dataclass(frozen=True)
class Unsupported:
    target: str  # "zod", "openapi", "pydantic"
    level: str  # one of LEVELS
    message: str
    where: str  # what it concerns, e.g. "app.tasks.estimate"

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"unsupported level {self.level!r}; use one of {', '.join(LEVELS)}")

    def __str__(self) -> str:
        return f"{self.target}: {self.where}: {self.message} [{self.level}]"


class UnsupportedError(InvalidInput):
    """The spec asks for what a target cannot generate faithfully (exit 2)."""

    def __init__(self, items: list[Unsupported]):
        super().__init__("; ".join(str(i) for i in items))
        self.items = items


class Collector:
    """Gathers one target's diagnostics: `collector.unsupported(level, message, where)`."""

    def __init__(self, target: str):
        self.target = target
        self.items: list[Unsupported] = []

    def unsupported(self, level: str, message: str, where: str) -> None:
        self.items.append(Unsupported(self.target, level, message, where))


def report(items: Iterable[Unsupported], warn: Callable[[Unsupported], None] | None = None) -> list[Unsupported]:
    """Raise UnsupportedError for every "raise" item at once; pass each "warn" item to `warn` (if given) and
    return them; "ignore" items are dropped."""
    items = list(items)
    fatal = [i for i in items if i.level == "raise"]
    if fatal:
        raise UnsupportedError(fatal)
    warnings = [i for i in items if i.level == "warn"]
    for item in warnings:
        if warn is not None:
            warn(item)
    return warnings
