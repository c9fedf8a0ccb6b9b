// Parse samples with the built contracts and print what zod said, for the Python test to judge.
// usage: node runtime.mjs <dist/zod.js> <samples.json>
import { readFileSync } from "node:fs"
import { pathToFileURL } from "node:url"

const [zodModule, samplesPath] = process.argv.slice(2)
const { schemas } = await import(pathToFileURL(zodModule).href)
const samples = JSON.parse(readFileSync(samplesPath, "utf8"))
const results = samples.map(({ schema, table, kind, value }) => {
  const result = schemas[schema][table][kind].safeParse(value)
  return {
    ok: result.success,
    paths: result.success ? [] : result.error.issues.map((issue) => issue.path.join(".")),
  }
})
process.stdout.write(JSON.stringify(results))
