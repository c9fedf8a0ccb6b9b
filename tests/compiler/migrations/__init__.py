"""The migration cases: each numbered folder here is one spec change, and this module reads them.

A folder holds before/spec and after/spec (only the files that differ from tests/compiler/upgrades/base/spec),
expected.sql (the migration files `specgen migrate` writes for the change, each under a `-- file: NAME`
line, NAME being the folder's name without its number plus the file's suffix; absent when the change is
refused), expected_lint.txt (what `specgen lint` prints for the change) and, for the cases the database
tests migrate onto rows, before/rows.sql (the rows they insert first). Folders 01-19 are the upgrade
chain: each one's before is the previous one's after. tests/compiler/test_migrations.py checks them; after
reviewing an intended change, rewrite the expected files with:

    SPECGEN_UPDATE_GOLDEN=1 python -m pytest tests/compiler/test_migrations.py
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import psycopg
import pytest
from tests.rls_fixtures import World, make_row
from tests.specgen_cli import specgen

from generator.database.cluster import apply_migrations, apply_sql, standin_sql
from generator.emit import sql
from generator.emit.sqlobjects import from_doc
from generator.ir.snapshot import dump_ir, load_snapshot
from generator.migrate import render
from generator.migrate.lint import lint_steps
from generator.migrate.plan import ENUM_VALUES_SUFFIX, VALIDATE_SUFFIX, plan_migration, split_files
from generator.migrate.verify import compare, introspect
from generator.pipeline import compile_ir

MIGRATIONS = Path(__file__).parent
BASE = MIGRATIONS.parent / "upgrades/base"
UPDATE = os.environ.get("SPECGEN_UPDATE_GOLDEN") == "1"
UPDATE_HINT = ("if the change is intended, review it and run: "
               "SPECGEN_UPDATE_GOLDEN=1 python -m pytest tests/compiler/test_migrations.py")
CASES = sorted(p.name for p in MIGRATIONS.iterdir() if p.is_dir() and p.name[:2].isdigit())
CHAIN = [c for c in CASES if c[:2] < "20"]
# as `specgen migrate` heads each file it writes (generator/commands/migrate.py)
HEADERS = {ENUM_VALUES_SUFFIX: render.ENUM_VALUES_HEADER, "": render.HEADER, VALIDATE_SUFFIX: render.VALIDATE_HEADER}
FILE = "-- file: "
ORG_A = "00000000-0000-0000-0000-00000000000a"


def spec_of(case: str, side: str, root: Path) -> Path:
    """Write the project of a case's `before` or `after` spec at root: the base spec, with the files the
    case's side holds over it."""
    shutil.rmtree(root / "spec", ignore_errors=True)
    shutil.copytree(BASE / "spec", root / "spec")
    shutil.copytree(MIGRATIONS / case / side / "spec", root / "spec", dirs_exist_ok=True)
    return root


def spec_file(case: str, side: str, part: str) -> str:
    """The text of one spec file of a case's side ("base": the base spec)."""
    own = MIGRATIONS / case / side / "spec" / part
    return (own if case != "base" and own.exists() else BASE / "spec" / part).read_text()


def plan_case(case: str, tmp: Path):
    """(the after IR, the migration files [(name, text)] `specgen migrate` writes, the lint report): planned
    from the snapshot of `before` (written and read back as `specgen migrate` does) to `after`."""
    old = compile_ir(spec_of(case, "before", tmp / "before"))
    new = compile_ir(spec_of(case, "after", tmp / "after"))
    snap = load_snapshot(dump_ir(old, sql.objects(old)))
    steps = plan_migration(snap.ir, new, [from_doc(o) for o in snap.objects])
    report = lint_steps(steps, new)
    name = case.split("_", 1)[1]
    files = [] if report.refused else [(f"{name}{suffix}.sql", render.render_migration(part, new, HEADERS[suffix]))
                                       for suffix, part in split_files(steps)]
    return new, files, report


def expected_files(case: str) -> list[tuple[str, str]]:
    """expected.sql split back into its files [(name, text)]."""
    chunks = (MIGRATIONS / case / "expected.sql").read_text().split(FILE)[1:]
    return [tuple(chunk.split("\n", 1)) for chunk in chunks]


def check_expected(path: Path, text: str | None) -> None:
    """`text` is the file's reviewed content; None: there is no such file (SPECGEN_UPDATE_GOLDEN=1 rewrites it)."""
    if UPDATE:
        path.unlink(missing_ok=True)
        if text is not None:
            path.write_text(text)
    if text is None:
        assert not path.exists(), f"{path.parent.name}: nothing is written for a refused change"
    else:
        assert path.exists() and text == path.read_text(), f"{path.parent.name}: differs from {path.name}; {UPDATE_HINT}"


@pytest.fixture
def project(tmp_path) -> Path:
    """A project of the base spec, built."""
    shutil.copytree(BASE / "spec", tmp_path / "spec")
    assert specgen("build", cwd=tmp_path).returncode == 0
    return tmp_path


class Case:
    """A project built from a case's before spec, its baseline applied to a new database of the cluster
    (with an org and the case's before/rows.sql), migrated as the Supabase CLI does."""

    def __init__(self, tmp_path: Path, pg_cluster, case: str):
        self.root, self.cluster, self.case = tmp_path / "project", pg_cluster, case
        spec_of(case, "before", self.root)
        built = specgen("build", cwd=self.root)
        assert built.returncode == 0, built.stderr
        self.url = pg_cluster.url_for(pg_cluster.create_database(prefix="case"))
        apply_sql(self.url, standin_sql())
        self.applied = apply_migrations(self.url, self.migrations)
        apply_sql(self.url, f"insert into app.org (id, title) values ('{ORG_A}', 'A');")
        rows = MIGRATIONS / case / "before/rows.sql"
        if rows.exists():
            apply_sql(self.url, rows.read_text())

    @property
    def migrations(self) -> Path:
        return self.root / "supabase/migrations"

    def sql(self, text: str):
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(text).fetchall() if text.lstrip().startswith("select") else conn.execute(text)

    def migrate(self, case: str | None = None) -> list[Path]:
        """Change the spec to the case's after, run `specgen migrate`, and return the files it wrote (the
        ones in the case's expected.sql)."""
        case = case or self.case
        spec_of(case, "after", self.root)
        made = specgen("migrate", "step", cwd=self.root)
        assert made.returncode == 0, made.stdout + made.stderr
        files = [p for p in sorted(self.migrations.glob("*.sql")) if p not in self.applied]
        assert [p.read_text() for p in files] == [text for _, text in expected_files(case)], case
        return files

    def apply(self, files: list[Path]) -> None:
        for path in files:
            apply_sql(self.url, path.read_text())
            self.applied.append(path)

    def differences(self) -> list[str]:
        with psycopg.connect(self.url) as conn:
            return verify_against_fresh(self.cluster, conn, compile_ir(self.root))


def seed(conn, ir) -> World:
    from tests.rls_fixtures import build_world
    world = build_world(conn, ir)
    add_rows(conn, world, ir)
    return world


def add_rows(conn, world: World, ir) -> None:
    world.ir = ir
    world.anchors.clear()
    for t in ir.tables:
        if t.schema == "app" and t.entity not in ("org", "membership"):
            for org in ("A", "B"):
                values = {"score": "5"} if any(c.name == "score" and c.type.base == "text" for c in t.columns) else {}
                make_row(conn, world, t, org, values=values)


def counts(conn, ir) -> dict[str, int]:
    return {f"{t.schema}.{t.name}": conn.execute(f"select count(*) from {t.qualified}").fetchone()[0]
            for t in ir.tables if t.schema == "app"}


def verify_against_fresh(pg_cluster, conn, ir) -> list[str]:
    """The differences between the database at conn and a fresh build of ir's baseline."""
    name = pg_cluster.create_database(prefix="fresh")
    try:
        url = pg_cluster.url_for(name)
        apply_sql(url, standin_sql())
        apply_sql(url, sql.render_baseline(ir))
        schemas = [*ir.schemas, "private"]
        with psycopg.connect(url) as fresh:
            expected = introspect(fresh, schemas)
        return compare(expected, introspect(conn, schemas))
    finally:
        pg_cluster.drop_database(name)
