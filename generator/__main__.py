"""`python -m generator`: the compiler's commands alone (`python -m specgen` has every command)."""
from generator.cli import cli

cli()
