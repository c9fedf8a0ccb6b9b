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
      membership: {
        Row: {
          created_at: string
          id: string
          org_id: string
          role: Database["app"]["Enums"]["membership_role"]
          updated_at: string
          user_id: string
        }
        Insert: {
          created_at?: string
          id?: string
          org_id: string
          role?: Database["app"]["Enums"]["membership_role"]
          updated_at?: string
          user_id: string
        }
        Update: {
          created_at?: string
          id?: string
          org_id?: string
          role?: Database["app"]["Enums"]["membership_role"]
          updated_at?: string
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "membership_org_id_fkey"
            columns: ["org_id"]
            isOneToOne: false
            referencedRelation: "org"
            referencedColumns: ["id"]
          },
        ]
      }
      notice: {
        Row: {
          body: string
          created_at: string
          created_by: string | null
          id: number
          slug: string | null
          updated_at: string
        }
        Insert: {
          body: string
          created_at?: string
          created_by?: string | null
          id?: never
          slug?: string | null
          updated_at?: string
        }
        Update: {
          body?: string
          created_at?: string
          created_by?: string | null
          id?: never
          slug?: string | null
          updated_at?: string
        }
        Relationships: []
      }
      org: {
        Row: {
          created_at: string
          id: string
          title: string
          updated_at: string
        }
        Insert: {
          created_at?: string
          id?: string
          title: string
          updated_at?: string
        }
        Update: {
          created_at?: string
          id?: string
          title?: string
          updated_at?: string
        }
        Relationships: []
      }
      reply: {
        Row: {
          body: string
          created_at: string
          id: string
          org_id: string
          ticket_number: number
          updated_at: string
        }
        Insert: {
          body: string
          created_at?: string
          id?: string
          org_id: string
          ticket_number: number
          updated_at?: string
        }
        Update: {
          body?: string
          created_at?: string
          id?: string
          org_id?: string
          ticket_number?: number
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "reply_org_id_fkey"
            columns: ["org_id"]
            isOneToOne: false
            referencedRelation: "org"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "reply_ticket_number_fkey"
            columns: ["org_id", "ticket_number"]
            isOneToOne: false
            referencedRelation: "ticket"
            referencedColumns: ["org_id", "number"]
          },
        ]
      }
      ticket: {
        Row: {
          created_at: string
          external_ref: string | null
          notice_id: number | null
          number: number
          org_id: string
          title: string
          updated_at: string
        }
        Insert: {
          created_at?: string
          external_ref?: string | null
          notice_id?: number | null
          number?: never
          org_id: string
          title: string
          updated_at?: string
        }
        Update: {
          created_at?: string
          external_ref?: string | null
          notice_id?: number | null
          number?: never
          org_id?: string
          title?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "ticket_notice_id_fkey"
            columns: ["notice_id"]
            isOneToOne: false
            referencedRelation: "notice"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "ticket_org_id_fkey"
            columns: ["org_id"]
            isOneToOne: false
            referencedRelation: "org"
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
      membership_role: "admin" | "member"
    }
    CompositeTypes: {
      [_ in never]: never
    }
  }
}

type SchemaName = Exclude<keyof Database, "__InternalSupabase">

// Helpers resolve a bare table or enum name in the default schema, app; pass
// { schema: "..." } first for another one, as in Tables<{ schema: "app" }, "membership">.
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
      membership_role: ["admin", "member"],
    },
  },
} as const
