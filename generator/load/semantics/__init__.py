"""Semantic rules a JSON Schema cannot express: references, names, tenancy, cycles, cross-file roles.

Runs on structurally valid data only. Every finding is collected; nothing stops at the first one.
One module per rule family (entities, fields, mapping, tenancy, roles), each a mixin of the checker.
"""
from __future__ import annotations

from generator.errors import Diagnostic
from generator.load.loader import SourceFile
from generator.load.semantics.entities import EntityRules
from generator.load.semantics.fields import FieldRules, _numeric_fits  # noqa: F401 (test_default_fits imports it)
from generator.load.semantics.mapping import MappingRules
from generator.load.semantics.roles import RoleRules
from generator.load.semantics.tenancy import TenancyRules


class SemanticChecker(EntityRules, FieldRules, MappingRules, TenancyRules, RoleRules):
    def run(self) -> list[Diagnostic]:
        self.check_project()
        self.check_entity_names()
        self.check_enums()
        for i, entity in enumerate(self.spec["entities"]):
            self.check_entity(i, entity)
        for i, entity in enumerate(self.spec["entities"]):
            self.check_composite_references(i, entity)
        self.check_tenancy()
        self.check_required_cycles()
        self.check_roles()
        return self.out


def check_semantics(entities: SourceFile, roles: SourceFile) -> list[Diagnostic]:
    return SemanticChecker(entities, roles).run()
