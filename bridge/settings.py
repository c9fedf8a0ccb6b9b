"""One frozen `Settings` for the runtime: read once from the environment by the CLI, then passed down.

Nothing below the CLI reads ``os.environ``: a module that needs a knob takes it from the `Settings` it was
given (or from an argument the caller filled from one). Tests build a `Settings` directly instead of
setting environment variables.

Secrets are looked up by name (an instance's ``secret_ref``, the webhook HMAC secret's variable): the
values live in ``environ``, a snapshot of the environment taken when the settings were read, which
`repr` never shows.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

DATABASE_URL_ENV = "SPECGEN_DATABASE_URL"
LOG_LEVEL_ENV = "SPECGEN_LOG_LEVEL"
ODOO_DEBUG_ENV = "SPECGEN_ODOO_DEBUG"
ODOO_DEBUG_SAMPLE_ENV = "SPECGEN_ODOO_DEBUG_SAMPLE"
ODOO_DEBUG_MAX_BYTES_ENV = "SPECGEN_ODOO_DEBUG_MAX_BYTES"
MIRROR_MAPPINGS_ENV = "SPECGEN_SYNC_MIRROR_MAPPINGS"
CONTRACTS_PATH_ENV = "SPECGEN_CONTRACTS_PATH"
WEBHOOK_HMAC_SECRET_ENV = "SPECGEN_WEBHOOK_HMAC_SECRET"
DASHBOARD_TOKEN_ENV = "SPECGEN_DASHBOARD_TOKEN"

DEFAULT_ODOO_DEBUG_MAX_BYTES = 2048
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    log_level: str | None = None  # None: the command's own default
    odoo_debug: bool = False
    odoo_debug_sample: float = 1.0  # 0..1
    odoo_debug_max_bytes: int = DEFAULT_ODOO_DEBUG_MAX_BYTES
    mirror_mappings: bool = False  # also write odoo.entity_mappings for Odoo-owned mirrors
    contracts_path: Path | None = None  # the generated Python package's folder; None: import it installed
    environ: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False, compare=False)
    problems: tuple[str, ...] = ()  # what could not be read (a number that is not one), for the CLI to log

    def secret(self, name: str | None) -> str | None:
        """The value of the environment variable ``name`` (a secret referenced by name), or None."""
        return (self.environ.get(name) or None) if name else None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = dict(os.environ if environ is None else environ)
        problems: list[str] = []

        def number(name: str, default, cast, lo, hi):
            text = env.get(name, "").strip()
            if not text:
                return default
            try:
                return min(hi, max(lo, cast(text)))
            except ValueError:
                problems.append(f"{name} is not a number ({text!r}); using the default {default}")
                return default

        contracts = env.get(CONTRACTS_PATH_ENV, "").strip()
        return cls(
            database_url=env.get(DATABASE_URL_ENV) or None,
            log_level=env.get(LOG_LEVEL_ENV) or None,
            odoo_debug=env.get(ODOO_DEBUG_ENV, "").strip().lower() in _TRUE,
            odoo_debug_sample=number(ODOO_DEBUG_SAMPLE_ENV, 1.0, float, 0.0, 1.0),
            odoo_debug_max_bytes=int(number(ODOO_DEBUG_MAX_BYTES_ENV, DEFAULT_ODOO_DEBUG_MAX_BYTES, int, 1, 2**31)),
            mirror_mappings=env.get(MIRROR_MAPPINGS_ENV, "0") == "1",
            contracts_path=Path(contracts) if contracts else None,
            environ=MappingProxyType(env),
            problems=tuple(problems),
        )
