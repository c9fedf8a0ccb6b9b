"""One error tree, one table of exit codes (specgen.errors), used by every command group."""
from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from generator.errors import SpecError
from generator.migrate.verify import MigrationFailed
from specgen import errors


@pytest.mark.parametrize("error, code", [
    (errors.UsageError("x"), 2), (SpecError([]), 2), (errors.DriftError(""), 1), (errors.CheckFailed(""), 1),
    (errors.DatabaseUnavailable("x"), 1), (errors.RuntimeFailure("x"), 1), (errors.Skipped(""), 3),
    (errors.SpecgenError("x"), 1),
])
def test_each_error_has_its_exit_code(error, code):
    assert errors.exit_code(error) == code


def test_the_compiler_and_the_runtime_raise_from_the_same_tree():
    from bridge.odoo.errors import OdooError
    assert issubclass(SpecError, errors.SpecgenError) and issubclass(MigrationFailed, errors.Failed)
    assert issubclass(OdooError, errors.RuntimeFailure)


def test_a_guarded_group_prints_the_message_and_exits_with_the_code():
    @click.group(cls=errors.GuardedGroup)
    def top():
        pass

    @top.command()
    def drift():
        raise errors.DriftError("")

    @top.command()
    def down():
        raise errors.DatabaseUnavailable("database unreachable: no such host")

    r = CliRunner().invoke(top, ["drift"])
    assert r.exit_code == 1 and r.output == ""
    r = CliRunner().invoke(top, ["down"])
    assert r.exit_code == 1 and r.output == "Error: database unreachable: no such host\n"
