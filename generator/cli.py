"""The compiler's commands (init, check, build, diff, migrate, lint, verify, schema); specgen.cli mounts them
beside the runtime's."""
from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

import click

from generator.errors import CheckFailed, DriftError, UsageError
from specgen.errors import GuardedGroup

from generator.layout import GENERATED, MIGRATIONS, TEST_DATABASE_URL_ENV as SERVER_URL_ENV
from generator.migrate.hand import TEMPLATES

JOBS_ENV = "SPECGEN_JOBS"


def _project_dir(ctx: click.Context, _param, value: Path | None) -> Path:
    """`-C` works before or after the subcommand; after wins."""
    if value is not None:
        return value
    root = ctx.find_root()
    return (root.obj or {}).get("project_dir") or Path(".")


project_dir_option = click.option(
    "-C", "--project-dir", "project_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    callback=_project_dir, help="Project root holding spec/, generated/ and supabase/ (default: the current directory).")


def _parse_jobs(_ctx, _param, value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        jobs = int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a number of processes (1: no child process)") from None
    if jobs < 0:
        raise click.BadParameter(f"{jobs} is not a number of processes (1: no child process)")
    return max(jobs, 1)


def _jobs(ctx: click.Context) -> int | None:
    return (ctx.find_root().obj or {}).get("jobs")


@click.group(cls=GuardedGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="specgen")
@click.option("-C", "--project-dir", "project_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Project root holding spec/, generated/ and supabase/ (default: the current directory).")
@click.option("-j", "--jobs", metavar="N", envvar=JOBS_ENV, callback=_parse_jobs, expose_value=True,
              help=f"Processes that render a build: 1 renders in one process, 2 forks one child "
                   f"(default: ${JOBS_ENV}; else 2 from 150 tables on a machine with 2 or more cores).")
@click.pass_context
def cli(ctx: click.Context, project_dir: Path | None, jobs: int | None) -> None:
    """Compile spec/ into migrations, contracts and sync adapters, and keep them honest.

    \b
    The spec lives in spec/schema/entities.yaml and spec/auth/roles.yaml
    (language: docs/spec-language.md). Typical use:
      specgen check     validate the spec
      specgen build     regenerate generated/ and specgen's files in supabase/
      specgen migrate   write the next migration after a spec change
      specgen diff      fail (exit 1) when those drifted from the spec
      specgen verify    prove the migrations build the schema the spec describes

    specgen writes the Supabase project's files (migrations/, snapshots/, migrations.lock.json,
    tests/rls.test.sql, two keys of config.toml) into supabase/ at the project root, where
    `supabase init` puts it (elsewhere: `supabase_dir:` under project: in the spec), and
    everything else into generated/. It owns only what its manifest records.

    Exit codes: 0 ok, 1 drift or a failed check, 2 invalid input (spec or usage), 3 some sync
    instances skipped.
    """
    ctx.obj = {"project_dir": project_dir, "jobs": jobs}


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
@click.option("--force", is_flag=True, help="Overwrite existing spec files.")
def init(directory: Path, force: bool) -> None:
    """Create a starter spec in DIRECTORY (default: here).

    Writes spec/schema/entities.yaml and spec/auth/roles.yaml: an org, its members, one app-owned
    entity and one Odoo mirror, and beside each the JSON Schema its first-line comment names for
    editors (what `specgen schema` prints). Existing spec files are never overwritten without --force.
    """
    from generator.load.schema_check import load_schema
    starter = resources.files("generator.load").joinpath("starter")
    targets = {"spec/schema/entities.yaml": "entities.yaml", "spec/auth/roles.yaml": "roles.yaml"}
    existing = [rel for rel in targets if (directory / rel).exists()]
    if existing and not force:
        raise UsageError("refusing to overwrite " + ", ".join(str(directory / p) for p in existing)
                         + " (use --force to replace them)")
    for rel, name in targets.items():
        target = directory / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(starter.joinpath(name).read_text(encoding="utf-8"), encoding="utf-8")
        click.echo(f"wrote {target}")
        schema_file = target.with_name(name.replace(".yaml", ".schema.json"))
        schema_file.write_text(json.dumps(load_schema(name.removesuffix(".yaml")), indent=2) + "\n", encoding="utf-8")
        click.echo(f"wrote {schema_file}")
    click.echo(f"next: cd {directory} && specgen check && specgen build (it writes the migrations into "
               f"supabase/, beside `supabase init`'s config.toml)")


@cli.command()
@project_dir_option
@click.option("--unsupported", "show_unsupported", is_flag=True,
              help="List what each target narrows or leaves out (zod, OpenAPI, pydantic), notes included.")
def check(project_dir: Path, show_unsupported: bool) -> None:
    """Validate the spec; report every error as file:line:col with a hint (exit 2).

    Also counts what a target checks less strictly than the database (a bigint zod holds only up to
    2^53 - 1, say); --unsupported lists each. A spec a target cannot generate faithfully is an error.
    """
    from generator.emit import registry, unsupported
    from generator.pipeline import compile_ir
    ir = compile_ir(project_dir)
    entities = sum(1 for t in ir.tables if t.entity)
    items = registry.unsupported(ir)
    warnings = unsupported.report(items)  # raises for what no target can express
    click.echo(f"spec OK: {entities} entities, {len(ir.tables)} tables, {len(ir.roles)} roles, "
               f"{len(ir.permissions)} permission rules")
    for item in items if show_unsupported else []:
        click.echo(f"{'warning' if item.level == 'warn' else 'note'}: {item}", err=True)
    if warnings and not show_unsupported:
        click.echo(f"{len(warnings)} place{'s' if len(warnings) != 1 else ''} where a target checks less than the "
                   "database (`specgen check --unsupported` lists them)", err=True)


@cli.command()
@project_dir_option
@click.option("--emit", type=click.Choice(["files", "ir"]), default="files", show_default=True,
              help="files: write generated/ and supabase/. ir: print the resolved IR as JSON and write nothing.")
@click.option("--prune", is_flag=True, help="Also delete the files specgen once wrote (its manifest records them) "
                                           "that the spec no longer produces; never anyone else's.")
@click.pass_context
def build(ctx: click.Context, project_dir: Path, emit: str, prune: bool) -> None:
    """Regenerate generated/ and specgen's files in supabase/ from the spec, with a manifest of input
    and output hashes (generated/manifest.json).

    Unchanged files are not rewritten. Files specgen wrote earlier that the spec no longer produces
    are listed (and stay recorded as specgen's), and deleted only with --prune. Files specgen never
    wrote (the Supabase project's seed.sql, functions/, .temp/, hand-written tests) are never
    touched; of config.toml, only [api] schemas and extra_search_path are kept in step.
    """
    if emit == "ir":
        from generator import pipeline
        ir = pipeline.compile_ir(project_dir)
        click.echo(json.dumps(ir.to_dict(), indent=2, sort_keys=True, default=_json_default))
        return
    from generator.commands.build import build as building
    built = building(project_dir, prune=prune, jobs=_jobs(ctx))
    shown = built.tree.shown
    for path in built.written:
        click.echo(f"wrote {shown(path)}", err=True)
    for name in built.hand_recorded:
        click.echo(f"recorded the hand-written migration {name} in the lock", err=True)
    for path in built.removed:
        click.echo(f"removed {shown(path)}", err=True)
    for line in built.api_changes:
        click.echo(f"warning: {line}", err=True)
    for path in built.stale:
        click.echo(f"warning: {shown(path)} is not produced by the spec (`specgen build --prune` deletes it)",
                   err=True)
    click.echo(f"{_files(built.total)} in {_areas(built.tree)}: {built.files_written} written, "
               f"{built.total - built.files_written} unchanged" + (f", {len(built.removed)} removed" if built.removed else "")
               + f"; {_migrations(built.migrations)}" + (" (the baseline, written now)" if built.baseline_written else ""),
               err=True)
    for problem in built.migration_problems:
        click.echo(f"warning: {problem}", err=True)


@cli.command()
@project_dir_option
@click.option("--api-base", metavar="REF|FILE",
              help="Also compare the Data API with this earlier openapi.json (a git ref such as origin/main, "
                   "or a file) and fail on breaking changes that come without a major version bump.")
@click.pass_context
def diff(ctx: click.Context, project_dir: Path, api_base: str | None) -> None:
    """Exit 1 when generated/ or specgen's files in supabase/ differ from what the spec produces
    (CI's drift gate).

    Regenerates in memory and reports edited files as a unified diff, plus missing and extra files,
    and names breaking API changes against the committed (or --api-base) openapi.json.
    Nothing is written.
    """
    from generator.commands.diff import diff as comparing
    compared = comparing(project_dir, api_base, jobs=_jobs(ctx))
    if compared.clean:
        for line in compared.api_changes:
            click.echo(line)
        click.echo(f"no drift: {_files(compared.total)} in {_areas(compared.tree)} match the spec, and its "
                   f"{_migrations(compared.migrations)} the lock")
        return
    if not compared.drift.clean:
        click.echo(compared.drift.report(compared.tree.shown))
    for problem in compared.migration_problems:
        click.echo(f"migrations: {problem}")
    for line in compared.api_changes:
        click.echo(line)
    raise DriftError("")  # the report above says what


@cli.command()
@click.argument("name")
@project_dir_option
@click.option("--empty", is_flag=True, help="Write an empty migration NAME to fill by hand (SQL the spec cannot "
                                            "say); the next `specgen build` records it in the lock.")
@click.option("--template", type=click.Choice(TEMPLATES), help="With --empty: start the migration from a template "
              "(schedule-functions: pg_cron jobs calling the sync Edge Functions, created inactive).")
@click.pass_context
def migrate(ctx: click.Context, name: str, project_dir: Path, empty: bool, template: str | None) -> None:
    """Write the next migration NAME: what turns the last recorded schema into the spec's.

    \b
    Compares the IR snapshot recorded with the newest migration against the spec, writes
    supabase/migrations/<UTC timestamp>_NAME.sql with its steps in dependency order, records the
    new snapshot and checksum, and rebuilds generated/. Unsafe steps (drops, narrowing
    type changes, NOT NULL without a backfill, locking index builds, enum value removal, renames
    that break API clients) are refused until the spec acknowledges them:

    \b
      acknowledged_changes:
        - change: drop_column app.tasks.legacy
          reason: nothing reads it since v2
    """
    if template and not empty:
        raise click.UsageError("--template writes a hand-written migration: use it with --empty "
                               f"(specgen migrate --empty {name} --template {template})")
    if empty:
        from generator.commands.migrate import empty as empty_migration
        then = "read its header, then `specgen build`" if template else "fill it in, then `specgen build`"
        click.echo(f"wrote {empty_migration(project_dir, name, template)}: {then}")
        return
    from generator.commands.migrate import migrate as migrating
    migrated = migrating(project_dir, name, jobs=_jobs(ctx))
    if migrated.nothing_to_do:
        click.echo("nothing to migrate: the newest migration already captures the spec")
        return
    for line in migrated.advice:
        click.echo(line, err=True)
    for file_name, steps in migrated.migrations:
        click.echo(f"wrote {migrated.tree.shown(MIGRATIONS)}/{file_name}: {steps} steps")
    for path in migrated.written:
        click.echo(f"wrote {migrated.tree.shown(path)}", err=True)


@cli.command(name="lint")
@project_dir_option
def lint_command(project_dir: Path) -> None:
    """Check the pending migration for unsafe steps (exit 1 if any is not acknowledged).

    Also runs squawk on the newest migration when squawk is installed; its findings are shown as
    advice (specgen's own rules decide the exit code).
    """
    from generator.commands.lint import lint
    linted = lint(project_dir, dict(os.environ))
    if linted.report is not None:
        for line in linted.report:
            click.echo(line)
        n, unsafe = linted.pending, linted.unsafe
        click.echo("no pending changes: the newest migration captures the spec" if not n else
                   f"{n} pending step{'s' if n != 1 else ''}, "
                   + (f"{unsafe} unsafe" if unsafe else "none unsafe") + " (`specgen migrate NAME` writes them)")
    if linted.squawk is not None:
        click.echo("squawk (advice on the newest migration):")
        click.echo(linted.squawk)
    if linted.refused:
        raise CheckFailed("")  # the report above says what


@cli.command()
@project_dir_option
@click.option("--database-url", metavar="URL",
              help="Compare this live database with the spec instead (read-only: nothing is changed).")
@click.option("--server-url", metavar="URL", envvar=SERVER_URL_ENV,
              help=f"A PostgreSQL server to make the throwaway databases on (default: ${SERVER_URL_ENV}; "
                   "else one is started from the system's binaries or pgserver).")
def verify(project_dir: Path, database_url: str | None, server_url: str | None) -> None:
    """Prove the migrations build exactly the schema the spec describes.

    Without --database-url: applies every migration in order to a throwaway PostgreSQL with the
    Supabase stand-in, then compares its catalog (tables, columns, types, nullability, defaults,
    constraints, indexes, RLS, policies, grants, triggers, functions, enums) with a database built
    from the spec directly. Prints 0 differences or each one; exit 1 if any. A migration that does
    not apply: its file, line, statement and PostgreSQL's message, exit 1.
    """
    from generator.commands.verify import verify as verifying
    differences = verifying(project_dir, database_url, progress=lambda msg: click.echo(msg, err=True),
                            cluster_url=server_url)
    for line in differences:
        click.echo(line)
    click.echo(f"{len(differences)} difference{'s' if len(differences) != 1 else ''}")
    if differences:
        raise CheckFailed("")


@cli.command()
@click.argument("which", type=click.Choice(["entities", "roles"]), default="entities")
def schema(which: str) -> None:
    """Print the JSON Schema of entities.yaml or roles.yaml, for editors and other tools.

    \b
    Editors that speak the YAML language server pick it up from a first-line comment:
      # yaml-language-server: $schema=<path to the printed schema>
    """
    from generator.load.schema_check import load_schema
    click.echo(json.dumps(load_schema(which), indent=2))


def _areas(tree) -> str:
    """The folders specgen writes into, as the summary lines name them."""
    return f"{GENERATED}/ and {tree.supabase_dir}/"


def _files(n: int) -> str:
    return f"{n} file{'s' if n != 1 else ''}"


def _migrations(n: int) -> str:
    return f"{n} migration{'s' if n != 1 else ''}"


def _json_default(value):
    raise TypeError(f"cannot serialise {type(value).__name__}")
