"""IR dataclasses. No rendering code lives here: an emitter reads these, nothing else."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from generator.ir.bounds import Bounds, resolve
from generator.names import qualified
from generator.sqltypes import FieldType


@dataclass(frozen=True)
class Project:
    name: str
    version: str
    package: str
    description: str


@dataclass(frozen=True)
class Enum:
    schema: str
    name: str
    values: tuple[str, ...]
    description: str = ""
    renamed_values: tuple[tuple[str, str], ...] = ()  # (new, old)

    @property
    def qualified(self) -> str:
        return qualified(self.schema, self.name)


@dataclass(frozen=True)
class Check:
    name: str
    expression: str  # SQL boolean expression over the table's columns
    column: str | None = None
    # The spec's own words, for docs and contracts: (kind, value), e.g. ("max_length", 120).
    rules: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str  # "cascade", "restrict", "set null", "no action", "set default"
    ref_entity: str | None = None  # None for auth.users and other external tables
    # Same-org references lead with the tenant column on both sides: (org_id, x_id) -> (org_id, id).
    same_org: bool = False
    # The columns `on delete set null/set default` resets (PostgreSQL 15): the reference, never org_id.
    set_columns: tuple[str, ...] = ()

    @property
    def ref_qualified(self) -> str:
        return qualified(self.ref_schema, self.ref_table)

    @property
    def reference_columns(self) -> tuple[str, ...]:
        """The columns the spec declared: the composite key minus its leading tenant column."""
        return self.columns[1:] if self.same_org else self.columns

    @property
    def referenced_columns(self) -> tuple[str, ...]:
        return self.ref_columns[1:] if self.same_org else self.ref_columns


@dataclass(frozen=True)
class Column:
    name: str
    type: FieldType
    sql_type: str  # as written in DDL: varchar(120), app.task_status, text[]
    nullable: bool
    default_sql: str | None = None
    default_json: str | None = None  # the spec's literal default as JSON text (the IR stays hashable)
    enum: tuple[str, str] | None = None  # (schema, name) for enum columns
    unique: bool = False
    pii: bool = False
    description: str = ""
    renamed_from: str | None = None
    system: str | None = None  # why specgen added it: "pk", "tenant", "timestamps", "odoo"; None = spec field
    identity: bool = False  # generated always as identity

    @property
    def has_default(self) -> bool:
        return self.default_sql is not None or self.identity


@dataclass(frozen=True)
class UniqueConstraint:
    name: str
    columns: tuple[str, ...]
    nulls_not_distinct: bool = False  # `unique nulls not distinct` (PostgreSQL 15): nulls clash too


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]
    unique: bool = False
    where: str | None = None
    method: str = "btree"
    reason: str = "spec"  # "spec", "foreign key", "tenant"


@dataclass(frozen=True)
class OdooFieldMap:
    column: str
    odoo_field: str
    kind: str  # "scalar", "many2one", "selection", "many2many" or "one2many" (column: the relation's name)
    target_entity: str | None = None
    inverse: str | None = None  # one2many: the target's many2one column pointing back


@dataclass(frozen=True)
class OdooMapping:
    model: str
    domain_json: str  # canonical JSON text of the domain
    context: tuple[tuple[str, object], ...]
    fields: tuple[OdooFieldMap, ...]
    direction: str
    batch_size: int
    conflict: str | None
    stall_minutes: int = 30
    external_ref: str | None = None  # the Odoo field the push marks its creates in (never reaches the database)


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    entity: str | None  # None for the platform's own tables
    description: str
    owner: str  # "app", "odoo", "shared", or "platform"
    scope: str  # "tenant" or "global"
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    uniques: tuple[UniqueConstraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    checks: tuple[Check, ...] = ()
    timestamps: bool = True
    audit: bool = False
    odoo: OdooMapping | None = None
    owned_by: str | None = None  # column compared with auth.uid() for rows: own
    renamed_from: str | None = None

    def bounds(self, column: str) -> Bounds:
        """The effective bounds of one value of the column (each element of an array column).

        Derived, so kept out of the fields: snapshots (orjson skips `_` attributes), equality, hashing
        and `--emit ir` see the table as the spec gave it. Resolved for all columns at the first call
        on this table (building the IR makes many tables it replaces; only the targets ask)."""
        cached = self.__dict__.get("_bounds")
        if cached is None:
            rules = {ch.column: dict(ch.rules) for ch in self.checks if ch.column}
            cached = {c.name: resolve(c.type, {} if c.type.array else rules.get(c.name, {})) for c in self.columns}
            object.__setattr__(self, "_bounds", cached)
        return cached[column]

    @property
    def qualified(self) -> str:
        return qualified(self.schema, self.name)

    @property
    def pk_name(self) -> str:
        from generator.names import constraint_name
        return constraint_name(self.name, (), "pkey")

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.schema}.{self.name} has no column {name}")


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    inherits: str | None
    system: str | None  # "service_role" for system roles
    satisfied_by: tuple[str, ...] = ()  # org roles that count as "at least this role" (itself included)


@dataclass(frozen=True)
class Grant:
    role: str  # an org role, or "anon"
    rows: str  # "org", "own", "all"
    columns: tuple[str, ...] = ()  # empty = every column


@dataclass(frozen=True)
class Permission:
    schema: str
    table: str
    entity: str
    command: str
    grants: tuple[Grant, ...]


@dataclass(frozen=True)
class Tenancy:
    root_schema: str
    root_table: str
    column: str
    membership_schema: str
    membership_table: str
    user_column: str
    role_column: str
    # roles.yaml `memberships:`: a role grants, changes and revokes only roles at or below its own rank
    # (ceiling), and every org keeps at least one membership of `keep_one` (e.g. owner).
    ceiling: bool = False
    keep_one: str | None = None


@dataclass(frozen=True)
class SSO:
    claim_path: str
    groups: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Observability:
    stall_minutes: int = 30
    error_rate: float = 0.05
    dead_letters_per_hour: int = 10
    webhook_rejection_rate: float = 0.2
    odoo_p99_seconds: float = 5.0
    event_to_row_p99_seconds: float = 60.0
    outbox_age_minutes: int = 15
    push_attempts: int = 3


@dataclass(frozen=True)
class IR:
    project: Project
    schemas: tuple[str, ...]
    exposed_schemas: tuple[str, ...]
    enums: tuple[Enum, ...]
    tables: tuple[Table, ...]
    roles: tuple[Role, ...]
    permissions: tuple[Permission, ...]
    tenancy: Tenancy | None
    sso: SSO | None
    inputs: tuple[tuple[str, str], ...] = field(default=())  # (path, sha256) of the spec files
    acknowledged: tuple[tuple[str, str], ...] = field(default=())  # (change, reason) the spec accepts
    observability: Observability = field(default_factory=Observability)

    def table(self, schema: str, name: str) -> Table:
        index = _index_of(self)
        try:
            return index[(schema, name)]
        except KeyError:
            raise KeyError(f"no table {schema}.{name}") from None

    def entity_table(self, entity: str) -> Table:
        for t in self.tables:
            if t.entity == entity:
                return t
        raise KeyError(f"no entity {entity}")

    def to_dict(self) -> dict:
        """Plain data for `--emit ir` and snapshots; tuples become lists."""
        return asdict(self)


_LAST_INDEX: list = [None, {}]  # (IR, {(schema, table): Table}) for the IR looked up last


def _index_of(ir: IR) -> dict:
    """Tables by (schema, name), built once per IR. An identity check, not a hash: hashing an IR is costly."""
    if _LAST_INDEX[0] is not ir:
        _LAST_INDEX[0], _LAST_INDEX[1] = ir, {(t.schema, t.name): t for t in ir.tables}
    return _LAST_INDEX[1]
