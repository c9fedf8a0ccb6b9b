// The one place where a string becomes SQL text in the Edge Functions, as generator/quoting.py is for the
// generated SQL. Every spec name that reaches a statement (schema,
// table, column, join-table column) goes through `ident` or `qualified`, and the few spec strings that are
// SQL literals (the keys of a jsonb_build_object) through `literal`; values go as bound parameters.
// tests/functions/test_sql_names.py fails on any other interpolation in SQL text.

/** An identifier as PostgreSQL's quote_ident writes one, but always double-quoted: `"` doubled, so `a"b`
 * is `"a""b"`. Quoting a name the spec already keeps plain (lower_snake_case, not reserved) does not change
 * which object it names. A NUL cannot be in an identifier: refused. */
export function ident(name: string): string {
  if (name.includes("\u0000")) throw new Error("a PostgreSQL identifier cannot hold a NUL character")
  return '"' + name.replaceAll('"', '""') + '"'
}

/** `"schema"."table"` of an entity or a join table (adapter.qualified_table). */
export function qualified(e: { schema: string; table: string }): string {
  return ident(e.schema) + "." + ident(e.table)
}

/** A standard string literal (generator/quoting.sql_string): `'` doubled; a backslash is an ordinary
 * character (standard_conforming_strings). A NUL is refused. */
export function literal(value: string): string {
  if (value.includes("\u0000")) throw new Error("PostgreSQL text cannot hold a NUL character")
  return "'" + value.replaceAll("'", "''") + "'"
}

/** A comma-separated list of identifiers, each prefixed by `alias.` when one is given. */
export function idents(names: readonly string[], alias?: string): string {
  return names.map((n) => (alias ? alias + "." : "") + ident(n)).join(", ")
}
