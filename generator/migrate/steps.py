"""Migration steps: what one change runs, in which phase, and the files a migration's steps go to."""
from __future__ import annotations

from dataclasses import dataclass, field

from generator.names import sql_string

# Phases order the steps so every statement finds what it needs.
PRE, ENUMS, FUNCTIONS, DROP_DEPENDENTS, RENAMES, CREATE_TABLES, COLUMNS, ENUM_SWAP, DROPS, KEYS, CONSTRAINTS, \
    COMMENTS, TRIGGERS, SECURITY, GRANTS, VALIDATE = range(16)
# KEYS (unique constraints) come before CONSTRAINTS: a foreign key needs the unique key it references.
# VALIDATE steps check existing rows against constraints added `not valid`. `specgen migrate` writes
# them to a migration of their own, so the scan runs in its own transaction and takes only a SHARE UPDATE
# EXCLUSIVE lock, after the ACCESS EXCLUSIVE of `add constraint` has been released.


@dataclass
class Step:
    change: str  # stable id, as used in acknowledged_changes: "drop_column app.tasks.legacy"
    sql: list[str]
    phase: int
    unsafe: str | None = None  # why it is unsafe, if it is
    order: int = field(default=0)
    new_label: str | None = None  # the enum label an `add value` step adds


# Files of one migration, in the order they run, each in a transaction of its own: (suffix, steps).
ENUM_VALUES_SUFFIX, VALIDATE_SUFFIX = "_enum_values", "_validate"


def split_files(steps: list[Step]) -> list[tuple[str, list[Step]]]:
    """The files `specgen migrate` writes for these steps.

    PostgreSQL refuses a new enum label before the transaction that added it commits (`unsafe use of
    new value`): when another step names a label this migration adds (a default, a check, a policy), the
    `add value` steps go to a file of their own that runs first. Validations of constraints added
    `not valid` go to a file of their own that runs last (see VALIDATE)."""
    added = [s for s in steps if s.new_label is not None]
    rest = [s for s in steps if s.new_label is None]
    used = {sql_string(s.new_label) for s in added}
    first: list[Step] = []
    if any(label in statement for s in rest for statement in s.sql for label in used):
        first, steps = added, rest
    main = [s for s in steps if s.phase != VALIDATE]
    validate = [s for s in steps if s.phase == VALIDATE]
    return [(suffix, part) for suffix, part in ((ENUM_VALUES_SUFFIX, first), ("", main), (VALIDATE_SUFFIX, validate))
            if part or suffix == ""]
