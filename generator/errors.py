"""Typed diagnostics and the errors that carry them; the CLI maps each error to an exit code."""
from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILED = 1  # drift, or a check that found something wrong
EXIT_INVALID = 2  # invalid input: spec or usage


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One finding about an input file, located as precisely as we can."""

    file: str
    line: int
    column: int
    message: str
    hint: str = ""

    def render(self) -> str:
        text = f"{self.file}:{self.line}:{self.column}: error: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class SpecgenError(Exception):
    """Base of every error the CLI turns into a message and an exit code."""

    exit_code = EXIT_FAILED


class SpecError(SpecgenError):
    """The spec is invalid. Carries every diagnostic found, not only the first."""

    exit_code = EXIT_INVALID

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(diagnostics)
        super().__init__(self.render())

    def render(self) -> str:
        lines = [d.render() for d in self.diagnostics]
        n = len(self.diagnostics)
        lines.append(f"{n} error{'s' if n != 1 else ''} in the spec")
        return "\n".join(lines)


class UsageError(SpecgenError):
    """The command was asked for something that cannot be done (missing files, bad options)."""

    exit_code = EXIT_INVALID


class DriftError(SpecgenError):
    """Generated files differ from what the spec produces."""

    exit_code = EXIT_FAILED
