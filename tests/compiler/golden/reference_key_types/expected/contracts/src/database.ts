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
      comment: {
        Row: {
          detail_id: number | null
          id: string
          legacy_num: number | null
          ticket_id: number
          user_id: string | null
        }
        Insert: {
          detail_id?: number | null
          id?: string
          legacy_num?: number | null
          ticket_id: number
          user_id?: string | null
        }
        Update: {
          detail_id?: number | null
          id?: string
          legacy_num?: number | null
          ticket_id?: number
          user_id?: string | null
        }
        Relationships: [
          {
            foreignKeyName: "comment_detail_id_fkey"
            columns: ["detail_id"]
            isOneToOne: false
            referencedRelation: "ticket_detail"
            referencedColumns: ["ticket_id"]
          },
          {
            foreignKeyName: "comment_legacy_num_fkey"
            columns: ["legacy_num"]
            isOneToOne: false
            referencedRelation: "legacy"
            referencedColumns: ["num"]
          },
          {
            foreignKeyName: "comment_ticket_id_fkey"
            columns: ["ticket_id"]
            isOneToOne: false
            referencedRelation: "ticket"
            referencedColumns: ["id"]
          },
        ]
      }
      country: {
        Row: {
          code: string
          label: string
        }
        Insert: {
          code: string
          label: string
        }
        Update: {
          code?: string
          label?: string
        }
        Relationships: []
      }
      legacy: {
        Row: {
          num: number
          parent_num: number | null
        }
        Insert: {
          num: number
          parent_num?: number | null
        }
        Update: {
          num?: number
          parent_num?: number | null
        }
        Relationships: [
          {
            foreignKeyName: "legacy_parent_num_fkey"
            columns: ["parent_num"]
            isOneToOne: false
            referencedRelation: "legacy"
            referencedColumns: ["num"]
          },
        ]
      }
      ticket: {
        Row: {
          country_code: string
          id: number
        }
        Insert: {
          country_code: string
          id: number
        }
        Update: {
          country_code?: string
          id?: number
        }
        Relationships: [
          {
            foreignKeyName: "ticket_country_code_fkey"
            columns: ["country_code"]
            isOneToOne: false
            referencedRelation: "country"
            referencedColumns: ["code"]
          },
        ]
      }
      ticket_detail: {
        Row: {
          body: string | null
          ticket_id: number
        }
        Insert: {
          body?: string | null
          ticket_id: number
        }
        Update: {
          body?: string | null
          ticket_id?: number
        }
        Relationships: [
          {
            foreignKeyName: "ticket_detail_ticket_id_fkey"
            columns: ["ticket_id"]
            isOneToOne: true
            referencedRelation: "ticket"
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
      [_ in never]: never
    }
    CompositeTypes: {
      [_ in never]: never
    }
  }
}

type SchemaName = Exclude<keyof Database, "__InternalSupabase">

// Helpers resolve a bare table or enum name in the default schema, app; pass
// { schema: "..." } first for another one, as in Tables<{ schema: "app" }, "comment">.
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
    Enums: {},
  },
} as const
