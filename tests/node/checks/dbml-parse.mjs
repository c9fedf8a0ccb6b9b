// Parse DBML files with dbdiagram's own parser; print a summary, or the located error and exit 1.
// usage: node dbml-parse.mjs <file.dbml>...
import { readFileSync } from "node:fs"
import { Parser } from "@dbml/core"

const summaries = []
for (const path of process.argv.slice(2)) {
  try {
    const database = new Parser().parse(readFileSync(path, "utf8"), "dbmlv2")
    const schemas = database.schemas.map((schema) => ({
      name: schema.name,
      tables: schema.tables.map((t) => t.name).sort(),
      enums: schema.enums.map((e) => e.name).sort(),
      refs: schema.refs.length,
      tableGroups: schema.tableGroups.map((g) => g.name).sort(),
    }))
    summaries.push({ path, schemas })
  } catch (error) {
    const diags = error.diags ?? [error]
    for (const d of diags) {
      const at = d.location?.start ? `${d.location.start.line}:${d.location.start.column}` : "?"
      console.error(`${path}:${at}: ${d.message ?? String(d)}`)
    }
    process.exit(1)
  }
}
process.stdout.write(JSON.stringify(summaries))
