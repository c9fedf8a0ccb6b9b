"""The IR: one frozen, fully resolved, deterministically ordered model that every emitter reads."""
from generator.ir.bounds import Bounds
from generator.ir.model import (IR, Check, Observability, Column, Enum, ForeignKey, Grant, Index, OdooFieldMap, OdooMapping,
                                Permission, Project, Role, SSO, Table, Tenancy, UniqueConstraint)

__all__ = ["IR", "Bounds", "Check", "Observability", "Column", "Enum", "ForeignKey", "Grant", "Index", "OdooFieldMap", "OdooMapping",
           "Permission", "Project", "Role", "SSO", "Table", "Tenancy", "UniqueConstraint"]
