"""The targets the compiler renders: name -> (render, where its files go, what it costs).

Every target is a pure `render(ir) -> {path: text}`. The pipeline renders them all, refuses two targets
writing one path, and uses `cost` and `output` to decide what a forked child renders on a large spec
(see pipeline.split_for_fork). The `schema` target is the schema SQL: its text becomes the baseline
migration and the migrations check's digest, never a file of its own in generated/.

The costs are what each target took on benchmarks/synth_spec.py's 500 entities x 20 fields (ms, on
the 2-core machine of benchmarks/results/compiler.md, 2026-12-04), and the output its size there (kB);
only their proportions matter.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from generator.emit import (adapters, contracts, dbml, docs, functions, observability, openapi, pgtap, pydantic,
                            runtime_api, sql, zod)
from generator.emit.unsupported import Unsupported
from generator.ir import IR

FILES = "files"  # the target's paths are files of generated/
SCHEMA = "schema"  # the target's one text is the schema SQL the migrations are made from


@dataclass(frozen=True)
class Target:
    name: str
    render: Callable[[IR], dict[str, str]]
    prefixes: tuple[str, ...]  # every path it writes starts with one of these (relative to generated/)
    cost: int  # relative render time on a large spec
    output: int  # relative size of what it returns (what a forked child sends back through a pipe)
    kind: str = FILES
    # what the target cannot express for this IR: diagnostics with a level (emit/unsupported.py)
    unsupported: Callable[[IR], list[Unsupported]] | None = None


TARGETS: tuple[Target, ...] = (
    # the schema's cost counts the migrations digests the child computes beside it (~45 ms)
    Target("schema", sql.render, (sql.SCHEMA_PATH,), cost=100, output=1720, kind=SCHEMA),
    Target("contracts", contracts.render, ("contracts/",), cost=85, output=9707, unsupported=zod.unsupported),
    Target("dbml", dbml.render, ("dbml/",), cost=26, output=828),
    Target("docs", docs.render, ("docs/",), cost=28, output=1332),
    Target("pgtap", pgtap.render, ("supabase/tests/",), cost=21, output=3119),
    Target("observability", observability.render, ("observability/",), cost=3, output=35),
    Target("adapters", adapters.render, ("python/",), cost=1, output=68),
    Target("openapi", openapi.render, ("openapi/",), cost=88, output=16427, unsupported=openapi.unsupported),
    Target("pydantic", pydantic.render, ("python/",), cost=69, output=8543, unsupported=pydantic.unsupported),
    Target("runtime_api", runtime_api.render, ("openapi/", "schemas/"), cost=1, output=13),
    # the Edge Functions: spec data beside a verbatim runtime (supabase/functions/; measured 2026-12-06)
    Target("functions", functions.render, (functions.FUNCTIONS_PATH,), cost=1, output=118),
)

BY_NAME = {t.name: t for t in TARGETS}


def unsupported(ir: IR) -> list[Unsupported]:
    """What every target cannot express for this IR, in registry order."""
    return [item for t in TARGETS if t.unsupported is not None for item in t.unsupported(ir)]
assert len(BY_NAME) == len(TARGETS), "two targets share a name"
