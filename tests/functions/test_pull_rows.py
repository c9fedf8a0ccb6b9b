"""The pull function reads a shared entity's local row as Python's adapter.comparable does (orjson of the
psycopg row): bigint as a number, arrays as lists, timestamps in isoformat with their microseconds. A
row read otherwise never equals its synced base, so every pull would take it for an app edit (and queue
a push), or lose an app edit below a second."""
from __future__ import annotations

import json
import shutil
import subprocess
import uuid

import orjson
import pytest

from bridge.adapters import canonical_json
from bridge.store.db import connect
from tests.functions.support import PERMISSIONS, db_env, deno, deno_env, functions_dir

pytestmark = [pytest.mark.deno, pytest.mark.db]

COLUMNS = {"big": "bigint", "n": "integer", "flag": "boolean", "name": "text", "tags": "text[]", "counts": "integer[]",
           "at": "timestamptz", "at_whole": "timestamptz", "naive": "timestamp", "amount": "numeric(12,4)",
           "day": "date", "doc": "jsonb"}
VALUES = {"big": 9007199254740000, "n": -7, "flag": True, "name": "Zoë \"quoted\"", "tags": ["a", "b,c", "d\"e"],
          "counts": [1, 2, 3], "at": "2026-12-06 10:11:12.123450+00", "at_whole": "2026-12-06 10:11:12+01",
          "naive": "2026-12-06 10:11:12.5", "amount": "12.3400", "day": "2026-12-06", "doc": '{"k": [1, "x"]}'}

SCRIPT = """
import { linkedRow } from "./pull_store.ts"
import { comparable } from "./adapter.ts"
import postgres from "npm:postgres@3.4.5"
const [entity, instanceId] = JSON.parse(Deno.args[0])
const sql = postgres(Deno.env.get("SUPABASE_DB_URL")!, { max: 1, prepare: false, onnotice: () => {} })
const row = await linkedRow(sql, entity, instanceId, 1)
console.log(JSON.stringify(comparable(entity, row!)))
await sql.end()
"""


def test_a_local_row_reads_as_pythons_comparable(pg_cluster, tmp_path):
    url = pg_cluster.url_for(pg_cluster.create_database(prefix="rows"))
    cols = ", ".join(f"{c} {t}" for c, t in COLUMNS.items())
    instance = str(uuid.uuid4())
    with connect(url) as conn:
        conn.execute(f"create table public.shared_rows (id uuid primary key, instance_id uuid, odoo_id int, "
                     f"odoo_write_date timestamptz, odoo_deleted_at timestamptz, updated_at timestamptz, {cols})")
        conn.execute(f"insert into public.shared_rows (id, instance_id, odoo_id, updated_at, {', '.join(COLUMNS)}) "
                     f"values (%s, %s, 1, now(), {', '.join(['%s'] * len(COLUMNS))})",
                     (str(uuid.uuid4()), instance, *VALUES.values()))
        row = conn.execute(f"select {', '.join(COLUMNS)} from public.shared_rows").fetchone()
    expected = orjson.loads(canonical_json(dict(row)))  # what adapter.comparable makes of the psycopg row
    fields = [{"column": c, "odoo_field": c, "kind": "scalar", "target": None, "type": t.split("(")[0].rstrip("[]"),
               "nullable": True, "array": t.endswith("[]")} for c, t in COLUMNS.items()]
    entity = {"entity": "shared_row", "schema": "public", "table": "shared_rows", "primary_key": "id",
              "tenant_column": None, "fields": fields, "many2manys": []}
    shared = tmp_path / "functions"
    shutil.copytree(functions_dir(), shared)
    (shared / "_shared" / "rows_check.ts").write_text(SCRIPT, encoding="utf-8")
    env = db_env(url)
    sockets = (f"--allow-write={env['PGHOST']}",) if env.get("PGHOST", "").startswith("/") else ()
    done = subprocess.run([deno(), "run", *PERMISSIONS, *sockets, "rows_check.ts", json.dumps([entity, instance])],
                          cwd=shared / "_shared", env=deno_env(**env), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr + done.stdout
    assert json.loads(done.stdout) == expected
