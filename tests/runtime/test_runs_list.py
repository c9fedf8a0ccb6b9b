"""The dashboard's recent runs stay readable: consecutive no-op runs of one entity are one line with a
count and a time span; a run that did something, or a failure, always has a line of its own."""
from __future__ import annotations

import json
import uuid

import pytest

from bridge.store import queries
from bridge.store.db import connect
from tests.runtime.support import add_instance

pytestmark = pytest.mark.db


def test_consecutive_noop_runs_of_one_entity_collapse_into_one_line(db_url):
    inst = add_instance(db_url, "http://127.0.0.1:9")
    # oldest first: 5 quiet partner pulls, one that wrote 3 rows, a failure, 4 quiet ones; product pulls
    # interleaved, all quiet (they do not break the partner streaks, and collapse on their own)
    plan = ([("partner", "succeeded", {"read": 0})] * 5 + [("partner", "succeeded", {"read": 3, "upserted": 3})]
            + [("partner", "failed", {})] + [("partner", "succeeded", {"read": 0, "unchanged": 2})] * 4)
    with connect(db_url) as conn:
        for i, (entity, status, counts) in enumerate(plan):
            for e, s, c, offset in ((entity, status, counts, 0), ("product", "succeeded", {}, 0.5)):
                conn.execute(
                    """insert into ops.runs (trace_id, kind, instance_id, entity, status, started_at, finished_at, counts)
                       values (%s, 'pull', %s, %s, %s, now() - make_interval(secs => %s),
                               now() - make_interval(secs => %s) + interval '10 ms', %s)""",
                    (uuid.uuid4().hex, inst["id"], e, s, 100 - i - offset, 100 - i - offset, json.dumps(c)))
        full = queries.recent_runs(conn, 50)
        lines = queries.recent_runs(conn, 50, collapse=True)
    assert len(full) == 22 and all(r["runs"] == 1 for r in full)
    shape = [(r["entity"], r["status"], r["runs"], r["noop"]) for r in lines]
    assert shape == [("product", "succeeded", 11, True), ("partner", "succeeded", 4, True),
                     ("partner", "failed", 1, False), ("partner", "succeeded", 1, False),
                     ("partner", "succeeded", 5, True)]
    quiet = lines[1]
    assert quiet["first_started_at"] < quiet["started_at"]
    assert (quiet["started_at"] - quiet["first_started_at"]).total_seconds() == pytest.approx(3, abs=0.01)
    assert sum(r["runs"] for r in lines) == len(full)
