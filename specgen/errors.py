"""The one error tree of specgen, and the one table from error to exit code.

A leaf module: it imports nothing of specgen's, so the compiler (generator/) and the runtime (bridge/)
both raise its classes without importing each other. Only the command line turns an error into a
message and an exit code (`exit_code` below, used by `GuardedGroup`); nothing under it calls sys.exit.

    SpecgenError
      InvalidInput        exit 2: the spec, a file or the command line asks for what cannot be done
      Failed              exit 1: the command ran and found something wrong (drift, an unsafe or
                                  failing migration, differences, an empty trace)
      RuntimeFailure      exit 1: the sync could not do its work (database down or not migrated, Odoo)
      Skipped             exit 3: the work was done, but some instances were skipped
"""
from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_SKIPPED = 3


class SpecgenError(Exception):
    """Base of every error the command line turns into a message and an exit code. An empty message
    means the command already printed what went wrong."""

    def render(self) -> str:
        return str(self)


class InvalidInput(SpecgenError):
    """Bad input: an invalid spec, a missing file, options that contradict each other."""


class UsageError(InvalidInput):
    """The command was asked for something that cannot be done (missing files, bad options)."""


class Failed(SpecgenError):
    """The command ran to the end and the answer is no."""


class DriftError(Failed):
    """Generated files differ from what the spec produces."""


class CheckFailed(Failed):
    """A check found problems: an unsafe migration, migrations that do not build the spec's schema."""


class RuntimeFailure(SpecgenError):
    """The sync could not do its work."""

    def render(self) -> str:  # the runtime's commands have always said "Error: ..." (click's form)
        return f"Error: {self}" if str(self) else ""


class DatabaseUnavailable(RuntimeFailure):
    """The database cannot be reached, or is not migrated."""


class Skipped(SpecgenError):
    """Everything else was done, but at least one instance was skipped for its configuration."""


# The one place an error becomes an exit code: the first class in this list that the error is an instance of.
EXIT_CODES: tuple[tuple[type[SpecgenError], int], ...] = (
    (InvalidInput, EXIT_INVALID),
    (Skipped, EXIT_SKIPPED),
    (Failed, EXIT_FAILED),
    (RuntimeFailure, EXIT_FAILED),
    (SpecgenError, EXIT_FAILED),
)


def exit_code(error: SpecgenError) -> int:
    for cls, code in EXIT_CODES:
        if isinstance(error, cls):
            return code
    return EXIT_FAILED


import click  # noqa: E402  (below the tree, which needs nothing)


class GuardedGroup(click.Group):
    """A click group that turns every SpecgenError raised by its commands (and their subgroups) into its
    message on stderr and its exit code: never a traceback for an error specgen knows."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SpecgenError as error:
            message = error.render()
            if message:
                click.echo(message, err=True)
            ctx.exit(exit_code(error))
