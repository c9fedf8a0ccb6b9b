"""The registry of targets: every path written once, inside its target's prefixes; the fork split by cost."""
from __future__ import annotations

import pytest

from generator import pipeline
from generator.emit import registry
from generator.pipeline import compile_ir, render_outputs, split_for_fork


def test_every_target_writes_inside_its_prefixes_and_no_path_twice(repo_root):
    ir = compile_ir(repo_root)
    seen: dict[str, str] = {}
    for target in registry.TARGETS:
        for path in target.render(ir):
            assert path.startswith(target.prefixes), (target.name, path)
            if target.kind == registry.FILES:
                assert path not in seen, f"{target.name} and {seen[path]} both write {path}"
                seen[path] = target.name
    assert set(render_outputs(ir, jobs=1).files) == set(seen)


def test_two_targets_writing_one_path_are_refused(repo_root, monkeypatch):
    ir = compile_ir(repo_root)
    twice = registry.Target("dbml_again", registry.BY_NAME["dbml"].render, ("dbml/",), cost=1, output=1)
    monkeypatch.setattr(registry, "TARGETS", (*registry.TARGETS, twice))
    with pytest.raises(AssertionError, match="two targets write dbml/schema.dbml"):
        render_outputs(ir, jobs=1)


def test_a_target_writing_outside_its_prefix_is_refused(repo_root, monkeypatch):
    ir = compile_ir(repo_root)
    stray = registry.Target("stray", lambda _ir: {"elsewhere/x.txt": ""}, ("docs/",), cost=1, output=1)
    monkeypatch.setattr(registry, "TARGETS", (*registry.TARGETS, stray))
    with pytest.raises(AssertionError, match="outside"):
        render_outputs(ir, jobs=1)


def test_the_forked_child_takes_the_small_outputs_while_that_balances_the_cost():
    child, parent = split_for_fork()
    total = sum(t.cost for t in registry.TARGETS)
    spent = sum(t.cost for t in child)

    def longest(child_cost):  # the wall time of the two processes
        return max(child_cost, total - child_cost)
    nearest = min(parent, key=lambda t: (t.output, t.name))
    last = max(child, key=lambda t: (t.output, t.name))
    assert longest(spent) <= longest(spent + nearest.cost)  # one more would not help
    assert longest(spent) < longest(spent - last.cost)  # one fewer would be worse
    assert max(t.output for t in child) <= min(t.output for t in parent)
    assert {t.name for t in child} | {t.name for t in parent} == set(registry.BY_NAME)
    assert {t.name for t in parent} >= {"openapi"}  # the biggest output never crosses the pipe


def test_the_schema_digest_is_the_schema_target_text(repo_root):
    ir = compile_ir(repo_root)
    rendered = render_outputs(ir, jobs=1)
    assert rendered.schema_sql == pipeline.sql.render_baseline(ir)
    assert not any(path.startswith("\0") for path in rendered.files)


def test_the_migrations_digests_are_the_same_from_the_forked_child(repo_root):
    """The child that renders the schema also digests it and the spec; the figures equal the serial ones."""
    from generator.migrate import folder
    ir = compile_ir(repo_root)
    serial = render_outputs(ir, jobs=1, digests=True).digests
    forked = render_outputs(ir, jobs=2, digests=True).digests
    assert serial == forked == pipeline.Digests(folder.sha256(pipeline.sql.render_baseline(ir)),
                                                folder.sha256(folder.fingerprint(ir)))
    assert render_outputs(ir, jobs=2).digests is None  # only when asked
