export type Json =
  | string
  | number
  | boolean
  | null
  | { [key: string]: Json | undefined }
  | Json[]

export type Database = {
  app: {
    Tables: {
      samples: {
        Row: {
          a_bigint: number | null
          a_boolean: boolean
          a_date: string | null
          a_free_numeric: number | null
          a_jsonb: Json | null
          a_named_enum: Database["app"]["Enums"]["colour"] | null
          a_numeric: number | null
          a_smallint: number | null
          a_text: string | null
          a_timestamp: string
          a_uuid: string | null
          a_varchar: string
          a_very_long_column_name_that_makes_generated_names_overflow_x:
            | string
            | null
          an_inline_enum: Database["app"]["Enums"]["samples_an_inline_enum"]
          an_integer: number
          colours: Database["app"]["Enums"]["colour"][] | null
          created_at: string
          id: string
          parent_id: string | null
          scores: number[] | null
          tags: string[] | null
          updated_at: string
        }
        Insert: {
          a_bigint?: number | null
          a_boolean?: boolean
          a_date?: string | null
          a_free_numeric?: number | null
          a_jsonb?: Json | null
          a_named_enum?: Database["app"]["Enums"]["colour"] | null
          a_numeric?: number | null
          a_smallint?: number | null
          a_text?: string | null
          a_timestamp?: string
          a_uuid?: string | null
          a_varchar?: string
          a_very_long_column_name_that_makes_generated_names_overflow_x?:
            | string
            | null
          an_inline_enum?: Database["app"]["Enums"]["samples_an_inline_enum"]
          an_integer?: number
          colours?: Database["app"]["Enums"]["colour"][] | null
          created_at?: string
          id?: string
          parent_id?: string | null
          scores?: number[] | null
          tags?: string[] | null
          updated_at?: string
        }
        Update: {
          a_bigint?: number | null
          a_boolean?: boolean
          a_date?: string | null
          a_free_numeric?: number | null
          a_jsonb?: Json | null
          a_named_enum?: Database["app"]["Enums"]["colour"] | null
          a_numeric?: number | null
          a_smallint?: number | null
          a_text?: string | null
          a_timestamp?: string
          a_uuid?: string | null
          a_varchar?: string
          a_very_long_column_name_that_makes_generated_names_overflow_x?:
            | string
            | null
          an_inline_enum?: Database["app"]["Enums"]["samples_an_inline_enum"]
          an_integer?: number
          colours?: Database["app"]["Enums"]["colour"][] | null
          created_at?: string
          id?: string
          parent_id?: string | null
          scores?: number[] | null
          tags?: string[] | null
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "samples_parent_id_fkey"
            columns: ["parent_id"]
            isOneToOne: false
            referencedRelation: "samples"
            referencedColumns: ["id"]
          },
        ]
      }
    }
    Views: {
      [_ in never]: never
    }
    Functions: {
      [_ in never]: never
    }
    Enums: {
      colour: "red" | "green" | "it's blue"
      samples_an_inline_enum: "low" | "high"
    }
    CompositeTypes: {
      [_ in never]: never
    }
  }
}

type SchemaName = Exclude<keyof Database, "__InternalSupabase">

// Helpers resolve a bare table or enum name in the default schema, app; pass
// { schema: "..." } first for another one, as in Tables<{ schema: "app" }, "samples">.
type DefaultSchema = Database["app"]

type TablesAndViews<S extends SchemaName> = Database[S]["Tables"] & Database[S]["Views"]

export type Tables<
  NameOrOptions extends keyof TablesAndViews<"app"> | { schema: SchemaName },
  TableName extends NameOrOptions extends { schema: infer S extends SchemaName }
    ? keyof TablesAndViews<S>
    : never = never,
> = NameOrOptions extends { schema: infer S extends SchemaName }
  ? TablesAndViews<S>[TableName] extends { Row: infer R }
    ? R
    : never
  : NameOrOptions extends keyof TablesAndViews<"app">
    ? TablesAndViews<"app">[NameOrOptions] extends { Row: infer R }
      ? R
      : never
    : never

export type TablesInsert<
  NameOrOptions extends keyof DefaultSchema["Tables"] | { schema: SchemaName },
  TableName extends NameOrOptions extends { schema: infer S extends SchemaName }
    ? keyof Database[S]["Tables"]
    : never = never,
> = NameOrOptions extends { schema: infer S extends SchemaName }
  ? Database[S]["Tables"][TableName] extends { Insert: infer I }
    ? I
    : never
  : NameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][NameOrOptions] extends { Insert: infer I }
      ? I
      : never
    : never

export type TablesUpdate<
  NameOrOptions extends keyof DefaultSchema["Tables"] | { schema: SchemaName },
  TableName extends NameOrOptions extends { schema: infer S extends SchemaName }
    ? keyof Database[S]["Tables"]
    : never = never,
> = NameOrOptions extends { schema: infer S extends SchemaName }
  ? Database[S]["Tables"][TableName] extends { Update: infer U }
    ? U
    : never
  : NameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][NameOrOptions] extends { Update: infer U }
      ? U
      : never
    : never

export type Enums<
  NameOrOptions extends keyof DefaultSchema["Enums"] | { schema: SchemaName },
  EnumName extends NameOrOptions extends { schema: infer S extends SchemaName }
    ? keyof Database[S]["Enums"]
    : never = never,
> = NameOrOptions extends { schema: infer S extends SchemaName }
  ? Database[S]["Enums"][EnumName]
  : NameOrOptions extends keyof DefaultSchema["Enums"]
    ? DefaultSchema["Enums"][NameOrOptions]
    : never

export type CompositeTypes<
  NameOrOptions extends keyof DefaultSchema["CompositeTypes"] | { schema: SchemaName },
  TypeName extends NameOrOptions extends { schema: infer S extends SchemaName }
    ? keyof Database[S]["CompositeTypes"]
    : never = never,
> = NameOrOptions extends { schema: infer S extends SchemaName }
  ? Database[S]["CompositeTypes"][TypeName]
  : NameOrOptions extends keyof DefaultSchema["CompositeTypes"]
    ? DefaultSchema["CompositeTypes"][NameOrOptions]
    : never

export const Constants = {
  app: {
    Enums: {
      colour: ["red", "green", "it's blue"],
      samples_an_inline_enum: ["low", "high"],
    },
  },
} as const
