"""Typed diagnostics and the spec error that carries them. The error tree and its exit codes are
specgen.errors (a leaf both the compiler and the runtime raise from); the names are re-exported here."""
from __future__ import annotations

import re
from dataclasses import dataclass

from specgen.errors import (EXIT_FAILED, EXIT_INVALID, EXIT_OK, CheckFailed, DriftError,  # noqa: F401
                            Failed, InvalidInput, SpecgenError, UsageError)


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One finding about an input file, located as precisely as we can."""

    file: str
    line: int
    column: int
    message: str
    hint: str = ""

    def __post_init__(self):  # a long value echoed by any check is cut, so one finding stays a few lines
        object.__setattr__(self, "message", _cut_quoted(self.message))

    def render(self) -> str:
        text = f"{self.file}:{self.line}:{self.column}: error: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


SHOWN = 80  # characters of a value echoed in a message (a whole 64-byte name fits); the rest is cut


def show(value, limit: int = SHOWN, quote: str = "") -> str:
    """`value` as a message echoes it: repr (or in `quote` marks), cut after `limit` characters."""
    text = f"{quote}{value}{quote}" if quote else repr(value)
    if len(text) <= limit:
        return text
    closing = text[0] if text[0] in "'\"" and text[-1] == text[0] else ""
    size = len(value) if isinstance(value, str) else len(text)
    return f"{text[:limit]}...{closing} ({size} characters)"


_RUN = "(?:(?!\\.\\.\\. \\()[^%s\\n]){%d,}"  # a quoted run longer than show() leaves one
_LONG_QUOTED = re.compile("|".join(q + _RUN % (q, SHOWN + 3) + q for q in ("'", '"')))


def _cut_quoted(message: str) -> str:
    return _LONG_QUOTED.sub(lambda m: show(m.group()[1:-1], quote=m.group()[0]), message)


class SpecError(InvalidInput):
    """The spec is invalid. Carries every diagnostic found, not only the first."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(set(diagnostics))  # by file, line and column; each finding once
        super().__init__(self.render())

    def render(self) -> str:
        lines = [d.render() for d in self.diagnostics]
        n = len(self.diagnostics)
        lines.append(f"{n} error{'s' if n != 1 else ''} in the spec")
        return "\n".join(lines)
