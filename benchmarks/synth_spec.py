"""Write a synthetic spec of N entities x F fields, shaped like real ones (tenancy, refs, enums, checks)."""
from __future__ import annotations

import argparse
import random
from pathlib import Path

TYPES = ["text", "varchar(120)", "integer", "bigint", "numeric(12,2)", "boolean", "date", "timestamptz",
         "jsonb", "uuid", "smallint", "text[]"]


def write_spec(root: Path, entities: int, fields: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    lines = ["version: 1", "project: {name: synthetic, version: 1.0.0}", "tenancy:", "  root: org",
             "  membership: {entity: membership}", "api: {exposed_schemas: [app, odoo]}", "enums:",
             "  org_role: {values: [owner, member]}", "entities:",
             "  - name: org", "    fields:", "      - {name: name, type: text, required: true}",
             "  - name: membership", "    fields:",
             "      - {name: user_id, references: auth.users, on_delete: cascade, required: true}",
             "      - {name: role, type: enum, enum: org_role, default: member, required: true}"]
    perms = ["version: 1", "roles:", "  - {name: member}", "  - {name: owner, inherits: member}",
             "  - {name: sync, system: service_role}", "permissions:"]
    for i in range(entities):
        name = f"entity_{i:04d}"
        mapped = i % 10 == 0
        lines += [f"  - name: {name}", f"    description: Synthetic entity number {i}."]
        if mapped:
            lines.append("    owner: odoo")
        lines.append("    fields:")
        for j in range(fields):
            fname = f"field_{j:02d}"
            if j == 0 and i > 0 and not mapped:
                lines.append(f"      - {{name: {fname}, references: entity_{rng.randrange(i):04d}, on_delete: set null}}")
                continue
            t = rng.choice(TYPES)
            extra = ""
            if t == "varchar(120)":
                extra = ", check: {min_length: 1}"
            elif t == "integer":
                extra = ", check: {min: 0, max: 1000000}"
            elif t == "boolean":
                extra = ", default: false, required: true"
            if j == 1:
                lines.append(f"      - {{name: {fname}, type: enum, values: [a, b, c], default: a, required: true}}")
            else:
                lines.append(f'      - {{name: {fname}, type: "{t}"{extra}}}')
        lines.append("    indexes:")
        lines.append("      - {columns: [org_id, field_02]}")
        if mapped:
            lines += ["    odoo:", f"      model: x.model{i}", "      fields:"]
            lines += [f"        field_{j:02d}: f{j}" for j in range(2, min(fields, 8))]
        else:
            perms += [f"  {name}:", "    select: {role: member}", "    insert: {role: member}",
                      "    update: [{role: member, rows: org}, {role: owner}]"]
    (root / "spec/schema").mkdir(parents=True, exist_ok=True)
    (root / "spec/auth").mkdir(parents=True, exist_ok=True)
    (root / "spec/schema/entities.yaml").write_text("\n".join(lines) + "\n")
    (root / "spec/auth/roles.yaml").write_text("\n".join(perms) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--entities", type=int, default=500)
    parser.add_argument("--fields", type=int, default=20)
    args = parser.parse_args()
    write_spec(args.directory, args.entities, args.fields)
