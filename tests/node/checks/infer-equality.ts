// Compile-time proof that every zod schema infers exactly the Database type it stands for.
// A mismatch fails `tsc` with an error naming the schema, table and kind.
import type { z } from "zod"
import type { Database } from "../contracts/src/database.js"
import { schemas } from "../contracts/src/zod.js"

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
type Kinds = "Row" | "Insert" | "Update"
type Zod = typeof schemas
type SchemaKey = keyof Zod & keyof Database

type Report = {
  [S in SchemaKey]: {
    [T in keyof Zod[S]]: T extends keyof Database[S]["Tables"]
      ? {
          [K in Kinds]: Zod[S][T] extends Record<K, z.ZodType>
            ? Database[S]["Tables"][T] extends Record<K, unknown>
              ? Equals<z.infer<Zod[S][T][K]>, Database[S]["Tables"][T][K]>
              : "no such kind in Database"
            : "no such kind in zod"
        }
      : "table missing from Database"
  }
}
type Expected = { [S in SchemaKey]: { [T in keyof Zod[S]]: { [K in Kinds]: true } } }

export const everyTableMatches: Expected = null as unknown as Report

// Both sides list the same schemas and tables.
export const sameSchemas: Equals<keyof Zod, Exclude<keyof Database, "__InternalSupabase">> = true
type SameTables = { [S in SchemaKey]: Equals<keyof Zod[S], keyof Database[S]["Tables"]> }
export const sameTables: { [S in SchemaKey]: true } = null as unknown as SameTables
