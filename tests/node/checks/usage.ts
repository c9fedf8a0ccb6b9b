// How a frontend uses the platform's contracts with supabase-js; compiles only if the types line up.
// Checked against this repository's own spec (not the golden cases).
import { createClient } from "@supabase/supabase-js"
import type { Database, Enums, Tables, TablesInsert, TablesUpdate } from "../contracts/src/database.js"
import { Constants } from "../contracts/src/database.js"
import { schemas } from "../contracts/src/zod.js"

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false

const supabase = createClient<Database>("http://127.0.0.1:54321", "anon-key")

export async function typedQueries(): Promise<void> {
  const tasks = await supabase.schema("app").from("tasks").select("id, title, status, priority")
  if (tasks.data) {
    const first = tasks.data[0]
    const status: Database["app"]["Enums"]["task_status"] = first.status
    const priority: number = first.priority
    // @ts-expect-error title is a string, not a number
    const wrong: number = first.title
    void status, priority, wrong
  }

  const embedded = await supabase.schema("app").from("tasks").select("id, projects(name)")
  if (embedded.data) {
    const name: string | undefined = embedded.data[0].projects?.name
    void name
  }

  const partners = await supabase.schema("odoo").from("partners").select("*")
  if (partners.data) {
    const email: string | null = partners.data[0].email
    void email
  }

  const insert: TablesInsert<{ schema: "app" }, "tasks"> = {
    org_id: "00000000-0000-0000-0000-000000000001",
    project_id: "00000000-0000-0000-0000-000000000002",
    title: "Ship it",
  }
  await supabase.schema("app").from("tasks").insert(insert)
  // @ts-expect-error status must be one of the enum's values
  await supabase.schema("app").from("tasks").update({ status: "archived" }).eq("id", "x")
  const update: TablesUpdate<"tasks"> = { status: "done" }
  await supabase.schema("app").from("tasks").update(update).eq("id", "x")
}

// Helpers resolve bare names in the default schema (app) and qualified names anywhere.
export const bareIsApp: Equals<Tables<"projects">, Tables<{ schema: "app" }, "projects">> = true
export const rowIsDatabaseRow: Equals<Tables<{ schema: "odoo" }, "partners">, Database["odoo"]["Tables"]["partners"]["Row"]> = true
export const enumHelper: Equals<Enums<"task_status">, "todo" | "in_progress" | "blocked" | "done"> = true
export const constantsMatch: readonly Enums<"org_role">[] = Constants.app.Enums.org_role
export const zodIsExported = schemas.app.tasks.Insert
