"""config.toml's [api] schemas and extra_search_path follow the spec; nothing else in the file moves."""
from __future__ import annotations

import shutil
import tomllib

import pytest

from generator.supabase_config import ConfigError, sync
from tests.specgen_cli import specgen
from tests.projects import copy_project

CONFIG = '''# written by `supabase init`, then edited by the team
project_id = "acme"

[api]
enabled = true
port = 54321
# Schemas to expose in your API.
schemas = ["public", "graphql_public"]
# Extra schemas for the search_path of every request.
extra_search_path = [
  "public",
  "extensions", # functions of extensions
]
max_rows = 1000

[db]
port = 54322
major_version = 15

[auth]
site_url = "http://127.0.0.1:3000"
'''


def _edited_lines(before: str, after: str) -> list[tuple[str, str]]:
    import difflib
    return [(line[0], line[2:]) for line in difflib.ndiff(before.splitlines(), after.splitlines())
            if line[:1] in "+-"]


def test_the_two_keys_follow_the_exposed_schemas_and_the_rest_stays():
    after = sync(CONFIG, exposed=("app", "odoo"), ours=("app", "odoo", "ops"))
    api = tomllib.loads(after)["api"]
    assert api["schemas"] == ["public", "graphql_public", "app", "odoo"]
    assert api["extra_search_path"] == ["public", "extensions", "app", "odoo"]
    changed = _edited_lines(CONFIG, after)
    assert [line for sign, line in changed if sign == "+"] == [
        'schemas = ["public", "graphql_public", "app", "odoo"]',
        'extra_search_path = ["public", "extensions", "app", "odoo"]']
    removed = [line for sign, line in changed if sign == "-"]
    assert removed == ['schemas = ["public", "graphql_public"]', "extra_search_path = [", '  "public",',
                       '  "extensions", # functions of extensions', "]"]
    assert sync(after, ("app", "odoo"), ("app", "odoo", "ops")) == after  # in step: unchanged
    assert tomllib.loads(after)["db"] == {"port": 54322, "major_version": 15}


def test_a_schema_no_longer_exposed_leaves_and_others_keep_their_place():
    text = CONFIG.replace('["public", "graphql_public"]', '["storage", "ops", "public", "app"]')
    api = tomllib.loads(sync(text, exposed=("app",), ours=("app", "odoo", "ops")))["api"]
    assert api["schemas"] == ["storage", "public", "app"]


def test_a_file_without_an_api_table_gets_one_and_bad_values_are_refused():
    after = sync('project_id = "x"', exposed=("app",), ours=("app",))
    assert tomllib.loads(after) == {"project_id": "x", "api": {"schemas": ["app"], "extra_search_path": ["app"]}}
    with pytest.raises(ConfigError, match="not TOML"):
        sync("[api\n", ("app",), ("app",))
    with pytest.raises(ConfigError, match="schemas is not an array of strings"):
        sync("[api]\nschemas = 3\n", ("app",), ("app",))


def test_build_keeps_the_keys_in_step_and_diff_holds_them(tmp_path, repo_root):
    copy_project(repo_root, tmp_path)
    config = tmp_path / "supabase/config.toml"
    config.write_text(CONFIG)
    assert specgen("diff", cwd=tmp_path).returncode == 1  # the keys are not in step yet
    assert specgen("build", cwd=tmp_path).returncode == 0
    built = tomllib.loads(config.read_text())
    assert built["api"]["schemas"] == ["public", "graphql_public", "app", "odoo"]
    # the build wrote the Edge Functions, so the one Odoo calls is let through without a JWT, and only it
    assert (tmp_path / "supabase/functions/webhook-receiver/index.ts").is_file()
    assert built["functions"] == {"webhook-receiver": {"verify_jwt": False}}
    assert specgen("diff", cwd=tmp_path).returncode == 0
    config.write_text(config.read_text().replace("max_rows = 1000", "max_rows = 500"))  # the team's own key
    assert specgen("diff", cwd=tmp_path).returncode == 0
    result = specgen("build", "--prune", cwd=tmp_path)
    assert result.returncode == 0 and "max_rows = 500" in config.read_text()
    assert "config.toml" not in (tmp_path / "generated/manifest.json").read_text()  # edited, never owned


def test_the_webhook_receiver_function_is_called_without_a_supabase_jwt():
    """Odoo sends no Supabase JWT: `[functions.webhook-receiver] verify_jwt = false` is added, or set when the
    table says otherwise; the function's other keys and the rest of the file stay."""
    ours = ("app", "odoo", "ops")
    added = sync(CONFIG, ("app",), ours, without_jwt=("webhook-receiver",))
    assert tomllib.loads(added)["functions"] == {"webhook-receiver": {"verify_jwt": False}}
    assert added.startswith(sync(CONFIG, ("app",), ours).rstrip("\n"))
    assert sync(added, ("app",), ours, without_jwt=("webhook-receiver",)) == added
    theirs = CONFIG + '\n[functions."webhook-receiver"]\nverify_jwt = true  # was\nimport_map = "./x.json"\n'
    fixed = sync(theirs, ("app",), ours, without_jwt=("webhook-receiver",))
    assert tomllib.loads(fixed)["functions"]["webhook-receiver"] == {"verify_jwt": False, "import_map": "./x.json"}
    assert [line for sign, line in _edited_lines(theirs, fixed) if sign == "+"] == [
        'schemas = ["public", "graphql_public", "app"]', 'extra_search_path = ["public", "extensions", "app"]',
        "verify_jwt = false"]
