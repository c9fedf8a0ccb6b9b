"""The `specgen` command line: the compiler's commands (generator.cli) and the runtime's, mounted lazily.

This is the composition root: the only module that names both the compiler and the runtime (and the mock
Odoo, a test double kept out of the deployed runtime).
"""
from __future__ import annotations

import importlib
import sys

import click

from generator.cli import cli as compiler
from specgen.errors import EXIT_INVALID, GuardedGroup

# Subcommands that pull in heavy runtime imports are loaded only when called,
# so `specgen build` pays nothing for the sync runtime.
LAZY_COMMANDS = {
    "mock-odoo": ("mock_odoo.cli:mock_odoo", "Run a mock Odoo 17 server (XML-RPC, JSON-RPC, webhooks)."),
    "sync": ("bridge.cli.sync:sync", "Run the Odoo <-> Supabase sync: instances, pull, push, replay, worker."),
    "webhooks": ("bridge.cli.sync:webhooks", "Serve the Odoo webhook receiver."),
    "demo": ("specgen.demo:demo", "Start PostgreSQL, a mock Odoo, worker, receiver and dashboard, in one command."),
    "dashboard": ("bridge.cli.dashboard:dashboard", "Serve the sync health dashboard (needs a token)."),
}


class LazyGroup(GuardedGroup):
    def list_commands(self, ctx):
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx, name):
        if name in LAZY_COMMANDS:
            module, attr = LAZY_COMMANDS[name][0].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)

    def format_commands(self, ctx, formatter):
        rows = [(name, cmd.get_short_help_str(60)) for name, cmd in sorted(self.commands.items())]
        rows += [(name, help_text) for name, (_, help_text) in LAZY_COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(sorted(rows))


cli = LazyGroup(name="specgen", commands=dict(compiler.commands), callback=compiler.callback,
                params=list(compiler.params), help=compiler.help, context_settings=compiler.context_settings)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INVALID)
