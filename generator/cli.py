"""The compiler's commands (init, check, build, diff, migrate, lint, verify, schema); specgen.cli mounts them
beside the runtime's."""
from __future__ import annotations

import functools
import json
import re
import sys
from importlib import resources
from pathlib import Path

import click

from generator.api_compat import api_gate
from generator.text import jsondoc
from generator.emit.openapi import OPENAPI_PATH
from generator.errors import EXIT_FAILED, EXIT_INVALID, SpecgenError, UsageError

def handle_errors(func):
    """Turn every SpecgenError into its message on stderr and its exit code; never a traceback."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except SpecgenError as exc:
            click.echo(str(exc), err=True)
            sys.exit(exc.exit_code)
    return wrapper


def _project_dir(ctx: click.Context, _param, value: Path | None) -> Path:
    """`-C` works before or after the subcommand; after wins."""
    if value is not None:
        return value
    root = ctx.find_root()
    return (root.obj or {}).get("project_dir") or Path(".")


project_dir_option = click.option(
    "-C", "--project-dir", "project_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    callback=_project_dir, help="Project root holding spec/ and generated/ (default: the current directory).")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="specgen")
@click.option("-C", "--project-dir", "project_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Project root holding spec/ and generated/ (default: the current directory).")
@click.pass_context
def cli(ctx: click.Context, project_dir: Path | None) -> None:
    """Compile spec/ into migrations, contracts and sync adapters, and keep them honest.

    \b
    The spec lives in spec/schema/entities.yaml and spec/auth/roles.yaml
    (language: docs/spec-language.md). Typical use:
      specgen check     validate the spec
      specgen build     regenerate generated/
      specgen migrate   write the next migration after a spec change
      specgen diff      fail (exit 1) when generated/ drifted from the spec
      specgen verify    prove the migrations build the schema the spec describes

    Exit codes: 0 ok, 1 drift or a failed check, 2 invalid input (spec or usage).
    """
    ctx.obj = {"project_dir": project_dir}


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
@click.option("--force", is_flag=True, help="Overwrite existing spec files.")
@handle_errors
def init(directory: Path, force: bool) -> None:
    """Create a starter spec in DIRECTORY (default: here).

    Writes spec/schema/entities.yaml and spec/auth/roles.yaml: an org, its members, one app-owned
    entity and one Odoo mirror. Existing files are never overwritten without --force.
    """
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
    click.echo(f"next: cd {directory} && specgen check && specgen build")


@cli.command()
@project_dir_option
@handle_errors
def check(project_dir: Path) -> None:
    """Validate the spec; report every error as file:line:col with a hint (exit 2)."""
    from generator.pipeline import compile_ir
    ir = compile_ir(project_dir)
    entities = sum(1 for t in ir.tables if t.entity)
    click.echo(f"spec OK: {entities} entities, {len(ir.tables)} tables, {len(ir.roles)} roles, "
               f"{len(ir.permissions)} permission rules")


@cli.command()
@project_dir_option
@click.option("--emit", type=click.Choice(["files", "ir"]), default="files", show_default=True,
              help="files: write generated/. ir: print the resolved IR as JSON and write nothing.")
@click.option("--prune", is_flag=True, help="Also delete files in generated/ that the spec no longer produces.")
@handle_errors
def build(project_dir: Path, emit: str, prune: bool) -> None:
    """Regenerate generated/ from the spec, with a manifest of input and output hashes.

    Unchanged files are not rewritten. Files the spec no longer produces are listed, and deleted
    only with --prune.
    """
    from generator import pipeline, writer
    ir = pipeline.compile_ir(project_dir)
    if emit == "ir":
        click.echo(json.dumps(ir.to_dict(), indent=2, sort_keys=True, default=_json_default))
        return
    files, state = pipeline.project_files(project_dir, ir)
    out = project_dir / pipeline.GENERATED
    old_api = _read_json(out / OPENAPI_PATH, unless_equal_to=files[OPENAPI_PATH])
    written, removed = writer.write(out, files, prune=prune, owned_elsewhere=_managed)
    for path in written:
        click.echo(f"wrote {pipeline.GENERATED}/{path}", err=True)
    for path in removed:
        click.echo(f"removed {pipeline.GENERATED}/{path}", err=True)
    if old_api is not None:
        for line in api_gate(old_api, jsondoc.load(files[OPENAPI_PATH]))[0]:
            click.echo(f"warning: {line}", err=True)
    stale = [] if prune else [p for p in writer.existing_files(out) if p not in files and not _managed(p)]
    for path in stale:
        click.echo(f"warning: {pipeline.GENERATED}/{path} is not produced by the spec "
                   f"(`specgen build --prune` deletes it)", err=True)
    click.echo(f"{len(files)} files in {pipeline.GENERATED}/: {len(written)} written, "
               f"{len(files) - len(written)} unchanged" + (f", {len(removed)} removed" if removed else ""),
               err=True)
    for problem in pipeline.check_migrations(state, ir) if not state.empty else []:
        click.echo(f"warning: {problem}", err=True)


@cli.command()
@project_dir_option
@click.option("--api-base", metavar="REF|FILE",
              help="Also compare the Data API with this earlier openapi.json (a git ref such as origin/main, "
                   "or a file) and fail on breaking changes that come without a major version bump.")
@handle_errors
def diff(project_dir: Path, api_base: str | None) -> None:
    """Exit 1 when generated/ differs from what the spec produces (CI's drift gate).

    Regenerates in memory and reports edited files as a unified diff, plus missing and extra files,
    and names breaking API changes against the committed (or --api-base) openapi.json.
    Nothing is written.
    """
    from generator import pipeline, writer
    ir = pipeline.compile_ir(project_dir)
    files, state = pipeline.project_files(project_dir, ir)
    out = project_dir / pipeline.GENERATED
    drift = writer.compare(out, files, owned_elsewhere=_managed)
    migration_problems = [] if state.empty else pipeline.check_migrations(state, ir)
    new_api = files[OPENAPI_PATH]
    base = _api_base(project_dir, api_base) if api_base else _read_json(out / OPENAPI_PATH, unless_equal_to=new_api)
    lines, allowed = api_gate(base, jsondoc.load(new_api)) if base is not None else ([], True)
    if drift.clean and allowed and not migration_problems:
        for line in lines:
            click.echo(line)
        click.echo(f"no drift: {len(files)} files in {pipeline.GENERATED}/ match the spec")
        return
    if not drift.clean:
        click.echo(drift.report(pipeline.GENERATED))
    for problem in migration_problems:
        click.echo(f"migrations: {problem}")
    for line in lines:
        click.echo(line)
    sys.exit(EXIT_FAILED)


def _managed(path: str) -> bool:
    from generator.migrate.folder import managed
    return managed(path)


def _read_json(path: Path, unless_equal_to: str | None = None):
    """A JSON file's content, or None when it is missing, unreadable, or the same text as given."""
    try:
        text = path.read_text(encoding="utf-8")
        return None if text == unless_equal_to else jsondoc.load(text)
    except (OSError, ValueError):
        return None


def _api_base(project_dir: Path, ref: str) -> dict:
    """The earlier OpenAPI document: a file, or generated/openapi/openapi.json at a git ref."""
    candidate = Path(ref)
    if candidate.is_file():
        doc = _read_json(candidate)
        if doc is None:
            raise UsageError(f"--api-base {ref}: not a JSON document")
        return doc
    import subprocess
    rel = (project_dir / "generated" / OPENAPI_PATH).resolve()
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=project_dir, capture_output=True,
                             text=True, check=True).stdout.strip()
        shown = subprocess.run(["git", "show", f"{ref}:{rel.relative_to(Path(top).resolve()).as_posix()}"],
                               cwd=project_dir, capture_output=True, text=True, check=True).stdout
    except (subprocess.CalledProcessError, FileNotFoundError, ValueError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise UsageError(f"--api-base {ref}: cannot read the OpenAPI document there ({detail.strip()})") from None
    try:
        return json.loads(shown)
    except ValueError:
        raise UsageError(f"--api-base {ref}: the OpenAPI document there is not valid JSON") from None


@cli.command()
@click.argument("name")
@project_dir_option
@handle_errors
def migrate(name: str, project_dir: Path) -> None:
    """Write the next migration NAME: what turns the last recorded schema into the spec's.

    \b
    Compares the IR snapshot recorded with the newest migration against the spec, writes
    generated/supabase/migrations/<UTC timestamp>_NAME.sql with its steps in dependency order,
    records the new snapshot and checksum, and rebuilds generated/. Unsafe steps (drops, narrowing
    type changes, NOT NULL without a backfill, locking index builds, enum value removal, renames
    that break API clients) are refused until the spec acknowledges them:

    \b
      acknowledged_changes:
        - change: drop_column app.tasks.legacy
          reason: nothing reads it since v2
    """
    from generator import pipeline, writer
    from generator.migrate import folder, lint, render
    if not re.match(r"^[a-z0-9_]+$", name) or len(name) > 80:
        raise UsageError(f"migration name {name!r}: use lower_snake_case (a-z, 0-9, _), at most 80 characters")
    ir = pipeline.compile_ir(project_dir)
    out = project_dir / pipeline.GENERATED
    state = folder.read_folder(out)
    if state.empty:
        raise UsageError("there is no baseline migration yet: run `specgen build` first")
    if state.problems or state.snapshot_file is None:
        click.echo("\n".join(f"migrations: {p}" for p in state.problems), err=True)
        sys.exit(EXIT_FAILED)
    from generator.migrate.plan import plan_migration
    steps = plan_migration(state.snapshot, ir, state.snapshot_sql)
    if not steps and folder.fingerprint(state.snapshot) == folder.fingerprint(ir):
        click.echo("nothing to migrate: the newest migration already captures the spec")
        return
    report = lint.lint_steps(steps, ir)
    for line in report.lines():
        click.echo(line, err=True)
    if report.refused:
        sys.exit(EXIT_FAILED)
    from generator.migrate.plan import ENUM_VALUES_SUFFIX, VALIDATE_SUFFIX, split_files
    # Each file runs in a transaction of its own (see generator/migrate/plan.py split_files): new enum
    # labels first when a step uses them, the main steps, then the validation of `not valid` constraints.
    stamp = folder.next_stamp(out)
    headers = {ENUM_VALUES_SUFFIX: render.ENUM_VALUES_HEADER, "": render.HEADER, VALIDATE_SUFFIX: render.VALIDATE_HEADER}
    parts = split_files(steps)
    migrations = []
    for suffix, part in parts:
        migrations.append((f"{stamp}_{name}{suffix}.sql", render.render_migration(part, ir, headers[suffix])))
        stamp = folder.stamp_after(stamp)
    files, _ = pipeline.project_files(project_dir, ir, state)
    files.update(folder.migration_files(ir, migrations, state.lock))
    files[pipeline.MANIFEST] = pipeline.render_manifest(ir, {k: v for k, v in files.items() if k != pipeline.MANIFEST})
    written, _ = writer.write(out, files, prune=False, owned_elsewhere=_managed)
    for (file_name, _), (_, part) in zip(migrations, parts):
        click.echo(f"wrote {pipeline.GENERATED}/{folder.MIGRATIONS}/{file_name}: {len(part)} steps")
    for path in written:
        click.echo(f"wrote {pipeline.GENERATED}/{path}", err=True)


@cli.command(name="lint")
@project_dir_option
@handle_errors
def lint_command(project_dir: Path) -> None:
    """Check the pending migration for unsafe steps (exit 1 if any is not acknowledged).

    Also runs squawk on the newest migration when squawk is installed; its findings are shown as
    advice (specgen's own rules decide the exit code).
    """
    from generator import pipeline
    from generator.migrate import folder, lint
    from generator.migrate.plan import plan_migration
    ir = pipeline.compile_ir(project_dir)
    out = project_dir / pipeline.GENERATED
    state = folder.read_folder(out)
    failed = False
    if state.snapshot is not None:
        report = lint.lint_steps(plan_migration(state.snapshot, ir, state.snapshot_sql), ir)
        for line in report.lines() or ["no pending changes"]:
            click.echo(line)
        failed = report.refused
    squawk = lint.run_squawk(out, state.files[-1:] if state.files else [])
    if squawk is not None:
        click.echo("squawk (advice on the newest migration):")
        click.echo(squawk.output)
    sys.exit(EXIT_FAILED if failed else 0)


@cli.command()
@project_dir_option
@click.option("--database-url", metavar="URL",
              help="Compare this live database with the spec instead (read-only: nothing is changed).")
@handle_errors
def verify(project_dir: Path, database_url: str | None) -> None:
    """Prove the migrations build exactly the schema the spec describes.

    Without --database-url: applies every migration in order to a throwaway PostgreSQL with the
    Supabase stand-in, then compares its catalog (tables, columns, types, nullability, defaults,
    constraints, indexes, RLS, policies, grants, triggers, functions, enums) with a database built
    from the spec directly. Prints 0 differences or each one; exit 1 if any. A migration that does
    not apply: its file, line, statement and PostgreSQL's message, exit 1.
    """
    from generator import pipeline
    from generator.migrate import verify as verifying
    ir = pipeline.compile_ir(project_dir)
    differences = verifying.verify(project_dir / pipeline.GENERATED, ir, database_url,
                                   progress=lambda msg: click.echo(msg, err=True))
    for line in differences:
        click.echo(line)
    click.echo(f"{len(differences)} difference{'s' if len(differences) != 1 else ''}")
    sys.exit(EXIT_FAILED if differences else 0)


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


def _json_default(value):
    raise TypeError(f"cannot serialise {type(value).__name__}")
