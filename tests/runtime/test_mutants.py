"""The guarantee tests must fail when a guarantee breaks: each named mutant below breaks one, in a copy of
the repository, and the guarantee tests (GUARANTEE_TESTS) run on that copy must fail (issue 14).

A mutant is one exact text replacement in one runtime file; if the text is no longer there the test
says so, so a refactor cannot silently turn a mutant into a no-op. The copy is the whole tree (the
chaos tests start workers as subprocesses from it), without .git and node_modules.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.db

MUTANTS = {
    # a pull that loses one record in the middle of every full page (the cursor still moves past it)
    "pull_loses_a_record_per_page": (
        "bridge/sync/pull.py",
        "                last_wd, last_id = save\n",
        "                last_wd, last_id = save\n"
        "                if len(page) == limit:\n"
        "                    page = page[:len(page) // 2] + page[len(page) // 2 + 1:]\n"),
    # a push without its duplicate-create guard: no wait for a late commit, no lookup by ref
    "push_without_duplicate_create_guard": (
        "bridge/sync/push.py",
        "            wait = exc.wait if isinstance(exc, AmbiguousCreate) else 0.0\n",
        "            wait = 0.0\n"),
    # reconcile (and the processor) never tombstone a record deleted in Odoo
    "nothing_is_ever_tombstoned": (
        "bridge/sync/writer.py",
        '    """Mark rows whose Odoo record is gone: odoo_deleted_at = now() (the row itself is kept)."""\n'
        "    if not odoo_ids:\n",
        '    """Mark rows whose Odoo record is gone: odoo_deleted_at = now() (the row itself is kept)."""\n'
        "    if True:\n"),
    # a scan page cut inside a second moves on to the next second ("> that second") instead of re-reading
    # the rest of it: the records sharing the page's last second and not on it are never pulled
    "cursor_skips_ties": (
        "bridge/sync/cursor.py",
        "        nxt = Position(last, 0, drain=True) if _second_of(page[0]) == last else Position(last)\n",
        "        nxt = Position(last, 0, drain=True) if _second_of(page[0]) == last else Position(last + SECOND)\n"),
    # the processor never tombstones from an event: a record deleted in Odoo waits for reconcile
    "processor_ignores_unlinks": (
        "bridge/sync/processor.py",
        "                    gone = absent - still\n",
        "                    gone = set()\n"),
    # the receiver answers 202 at once and stores the event in the background: an insert that fails
    # (or a receiver that dies first) loses an event Odoo was told was received
    "receiver_acks_before_commit": (
        "bridge/http/receiver/handlers.py",
        "            return await self.inserter.submit((instance_id, key, event[\"_model\"], event[\"_id\"],\n"
        "                                               body.decode(\"utf-8\", \"replace\"), trace_id))\n",
        "            __import__(\"asyncio\").ensure_future(self.inserter.submit((instance_id, key, event[\"_model\"], event[\"_id\"],\n"
        "                                               body.decode(\"utf-8\", \"replace\"), trace_id))); return -1\n"),
    # reconcile compares id sets only: an update committed behind the lookback is never re-read
    "reconcile_ignores_write_dates": (
        "bridge/sync/pull.py",
        "            missing = sorted(remote - known) + sorted((remote & known) - alive) + stale\n",
        "            missing = sorted(remote - known) + sorted((remote & known) - alive)\n"),
    # the processor reads an event's record once only, maybe before Odoo 17 committed the change
    "processor_reads_an_event_once": (
        "bridge/store/queue.py",
        "       recheck_at = case when clock_timestamp() < received_at",
        "       recheck_at = case when false and clock_timestamp() < received_at"),
}
# what must fail: the guarantee tests, and the early-notification tests (a change Odoo 17 notified
# before it committed must land once the request limit has passed)
GUARANTEE_TESTS = ("tests/runtime/test_guarantees.py", "tests/runtime/test_guarantees_webhooks.py",
                   "tests/runtime/test_early_webhooks.py")
# the mutants of the Edge Functions' TypeScript (generator/templates/functions): the same scenarios, run
# against the function runtime; the others break the Python runtime and run its side of the scenarios
FUNCTION_MUTANTS: dict[str, tuple[str, str, str]] = {
    # sync-from-odoo loses the first record of every full page (the cursor still moves past the page)
    "function_pull_loses_a_record_per_page": (
        "generator/templates/functions/_shared/pull.ts",
        "            await upsert(tx, ctx, e, page)\n",
        "            await upsert(tx, ctx, e, page.length === limit ? page.slice(1) : page)\n"),
    # the function's event processing never tombstones: a record deleted in Odoo stays in the mirror
    "function_processor_ignores_unlinks": (
        "generator/templates/functions/_shared/pull_events.ts",
        "      gone = new Set(absent.filter((i) => !still.has(i)))\n",
        "      gone = new Set(absent.filter((i) => !still.has(i) && false))\n"),
}
RUNTIME_FILTER = {"python": "not functions", "functions": "functions"}
# the second half of the duplicate-create mutant: the lookup by ref finds nothing
EXTRA = {"push_without_duplicate_create_guard": (
    "bridge/sync/push.py",
    "    def _find_by_ref(self, client, adapter, local_id) -> int | None:\n",
    "    def _find_by_ref(self, client, adapter, local_id) -> int | None:\n        return None\n")}


def _copy_tree(dest: Path) -> None:
    ignore = shutil.ignore_patterns(".git", "node_modules", "__pycache__", "*.egg-info", ".pytest_cache")
    shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True)
    node_modules = ROOT / "tests/node/node_modules"
    if node_modules.exists():
        (dest / "tests/node/node_modules").symlink_to(node_modules)


def _apply(tree: Path, path: str, old: str, new: str) -> None:
    target = tree / path
    text = target.read_text()
    assert text.count(old) == 1, f"the mutant's text is not (once) in {path} any more: update tests/runtime/test_mutants.py"
    target.write_text(text.replace(old, new))


@pytest.mark.parametrize("name", sorted(MUTANTS) + sorted(FUNCTION_MUTANTS))
def test_the_guarantee_tests_catch_the_mutant(name, tmp_path):
    tree = tmp_path / "repo"
    _copy_tree(tree)
    runtime = "functions" if name in FUNCTION_MUTANTS else "python"
    _apply(tree, *(FUNCTION_MUTANTS.get(name) or MUTANTS[name]))
    if name in EXTRA:
        _apply(tree, *EXTRA[name])
    env = {**os.environ, "PYTHONPATH": str(tree)}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                             "-k", RUNTIME_FILTER[runtime], *GUARANTEE_TESTS], cwd=tree, env=env,
                            capture_output=True, text=True, timeout=900)
    tail = "\n".join(result.stdout.splitlines()[-15:])
    assert result.returncode == 1, f"mutant {name!r} survived the guarantee tests (exit {result.returncode}):\n{tail}"
    assert " failed" in tail, tail
