"""odoo.external_ref: the Odoo field the push marks its creates in, declared in the spec (it was a table
in the runtime: res.partner -> ref, product.product -> default_code)."""
from __future__ import annotations

import shutil

import pytest
import yaml

from generator.emit import adapters
from generator.errors import SpecError
from generator.pipeline import compile_ir


@pytest.fixture
def project(tmp_path, repo_root):
    shutil.copytree(repo_root / "spec", tmp_path / "spec")
    return tmp_path


def _edit(project, entity: str, **odoo) -> None:
    path = project / "spec/schema/entities.yaml"
    doc = yaml.safe_load(path.read_text())
    mapping = next(e for e in doc["entities"] if e["name"] == entity)["odoo"]
    for key, value in odoo.items():
        if value is None:
            mapping.pop(key, None)
        else:
            mapping[key] = value
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _errors(project) -> list[str]:
    with pytest.raises(SpecError) as caught:
        compile_ir(project)
    return [d.render() for d in caught.value.diagnostics]


def test_the_generated_adapter_carries_it_and_the_runtime_uses_it(repo_root):
    ir = compile_ir(repo_root)
    contact = next(t for t in ir.tables if t.entity == "contact")
    assert contact.odoo.external_ref == "ref"
    text = adapters.render(ir)[next(iter(adapters.render(ir)))]
    block = text[text.index("class ContactAdapter"):]
    assert "    external_ref = 'ref'\n" in block[:block.index("fields = (")]
    assert text.count("external_ref = ") == 1  # only where the spec says so


def test_a_mapped_field_is_refused(project):
    _edit(project, "contact", external_ref="email")
    errors = _errors(project)
    assert len(errors) == 1 and "spec/schema/entities.yaml:" in errors[0]
    assert "external_ref 'email' is the Odoo field of column 'email'" in errors[0]


def test_an_entity_that_is_only_pulled_is_refused(project):
    _edit(project, "partner", external_ref="ref")
    errors = _errors(project)
    assert len(errors) == 1 and "which is only pulled" in errors[0]


def test_a_name_that_is_no_field_name_is_refused(project):
    _edit(project, "contact", external_ref="Ref; drop")
    assert any("external_ref" in e for e in _errors(project))


def test_it_needs_no_migration(project):
    """It never reaches the database: declaring or dropping it leaves the migrations' fingerprint alone."""
    from generator.migrate import folder
    before = folder.fingerprint(compile_ir(project))
    _edit(project, "contact", external_ref=None)
    ir = compile_ir(project)
    assert next(t for t in ir.tables if t.entity == "contact").odoo.external_ref is None
    assert folder.fingerprint(ir) == before
