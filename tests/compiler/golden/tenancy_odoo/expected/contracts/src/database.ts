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
      leads: {
        Row: {
          company_id: string | null
          created_at: string
          created_by: string | null
          id: string
          instance_id: string | null
          odoo_deleted_at: string | null
          odoo_id: number | null
          odoo_write_date: string | null
          synced_at: string | null
          title: string
          updated_at: string
          workspace_id: string
        }
        Insert: {
          company_id?: string | null
          created_at?: string
          created_by?: string | null
          id?: string
          instance_id?: string | null
          odoo_deleted_at?: string | null
          odoo_id?: number | null
          odoo_write_date?: string | null
          synced_at?: string | null
          title: string
          updated_at?: string
          workspace_id: string
        }
        Update: {
          company_id?: string | null
          created_at?: string
          created_by?: string | null
          id?: string
          instance_id?: string | null
          odoo_deleted_at?: string | null
          odoo_id?: number | null
          odoo_write_date?: string | null
          synced_at?: string | null
          title?: string
          updated_at?: string
          workspace_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "leads_workspace_id_fkey"
            columns: ["workspace_id"]
            isOneToOne: false
            referencedRelation: "workspaces"
            referencedColumns: ["id"]
          },
        ]
      }
      seats: {
        Row: {
          created_at: string
          id: string
          level: Database["app"]["Enums"]["seats_level"]
          member_id: string
          updated_at: string
          workspace_id: string
        }
        Insert: {
          created_at?: string
          id?: string
          level?: Database["app"]["Enums"]["seats_level"]
          member_id: string
          updated_at?: string
          workspace_id: string
        }
        Update: {
          created_at?: string
          id?: string
          level?: Database["app"]["Enums"]["seats_level"]
          member_id?: string
          updated_at?: string
          workspace_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "seats_workspace_id_fkey"
            columns: ["workspace_id"]
            isOneToOne: false
            referencedRelation: "workspaces"
            referencedColumns: ["id"]
          },
        ]
      }
      workspaces: {
        Row: {
          created_at: string
          id: string
          name: string
          updated_at: string
        }
        Insert: {
          created_at?: string
          id?: string
          name: string
          updated_at?: string
        }
        Update: {
          created_at?: string
          id?: string
          name?: string
          updated_at?: string
        }
        Relationships: []
      }
    }
    Views: {
      [_ in never]: never
    }
    Functions: {
      [_ in never]: never
    }
    Enums: {
      seats_level: "manager" | "agent"
    }
    CompositeTypes: {
      [_ in never]: never
    }
  }
  odoo: {
    Tables: {
      companies: {
        Row: {
          created_at: string
          id: string
          instance_id: string
          kind: Database["odoo"]["Enums"]["companies_kind"]
          name: string
          odoo_deleted_at: string | null
          odoo_id: number
          odoo_write_date: string | null
          parent_id: string | null
          synced_at: string | null
          updated_at: string
          workspace_id: string
        }
        Insert: {
          created_at?: string
          id?: string
          instance_id: string
          kind: Database["odoo"]["Enums"]["companies_kind"]
          name: string
          odoo_deleted_at?: string | null
          odoo_id: number
          odoo_write_date?: string | null
          parent_id?: string | null
          synced_at?: string | null
          updated_at?: string
          workspace_id: string
        }
        Update: {
          created_at?: string
          id?: string
          instance_id?: string
          kind?: Database["odoo"]["Enums"]["companies_kind"]
          name?: string
          odoo_deleted_at?: string | null
          odoo_id?: number
          odoo_write_date?: string | null
          parent_id?: string | null
          synced_at?: string | null
          updated_at?: string
          workspace_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "companies_instance_id_fkey"
            columns: ["workspace_id", "instance_id"]
            isOneToOne: false
            referencedRelation: "instances"
            referencedColumns: ["workspace_id", "id"]
          },
          {
            foreignKeyName: "companies_parent_id_fkey"
            columns: ["workspace_id", "parent_id"]
            isOneToOne: false
            referencedRelation: "companies"
            referencedColumns: ["workspace_id", "id"]
          },
        ]
      }
      dead_letters: {
        Row: {
          attempts: number
          created_at: string
          entity: string | null
          error_class: string | null
          id: number
          instance_id: string | null
          odoo_model: string | null
          payload: NonNullable<Json>
          reason: string
          record_ref: string | null
          replayed_at: string | null
          source: Database["odoo"]["Enums"]["dead_letter_source"]
          trace_id: string
          updated_at: string
        }
        Insert: {
          attempts?: number
          created_at?: string
          entity?: string | null
          error_class?: string | null
          id?: never
          instance_id?: string | null
          odoo_model?: string | null
          payload: NonNullable<Json>
          reason: string
          record_ref?: string | null
          replayed_at?: string | null
          source: Database["odoo"]["Enums"]["dead_letter_source"]
          trace_id: string
          updated_at?: string
        }
        Update: {
          attempts?: number
          created_at?: string
          entity?: string | null
          error_class?: string | null
          id?: never
          instance_id?: string | null
          odoo_model?: string | null
          payload?: NonNullable<Json>
          reason?: string
          record_ref?: string | null
          replayed_at?: string | null
          source?: Database["odoo"]["Enums"]["dead_letter_source"]
          trace_id?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "dead_letters_instance_id_fkey"
            columns: ["instance_id"]
            isOneToOne: false
            referencedRelation: "instances"
            referencedColumns: ["id"]
          },
        ]
      }
      entity_mappings: {
        Row: {
          created_at: string
          entity: string
          id: number
          instance_id: string
          local_id: string
          odoo_id: number
          odoo_model: string
          odoo_write_date: string | null
          synced_hash: string | null
          synced_values: Json | null
          updated_at: string
        }
        Insert: {
          created_at?: string
          entity: string
          id?: never
          instance_id: string
          local_id: string
          odoo_id: number
          odoo_model: string
          odoo_write_date?: string | null
          synced_hash?: string | null
          synced_values?: Json | null
          updated_at?: string
        }
        Update: {
          created_at?: string
          entity?: string
          id?: never
          instance_id?: string
          local_id?: string
          odoo_id?: number
          odoo_model?: string
          odoo_write_date?: string | null
          synced_hash?: string | null
          synced_values?: Json | null
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "entity_mappings_instance_id_fkey"
            columns: ["instance_id"]
            isOneToOne: false
            referencedRelation: "instances"
            referencedColumns: ["id"]
          },
        ]
      }
      instances: {
        Row: {
          active: boolean
          base_url: string
          created_at: string
          database: string
          id: string
          login: string
          name: string
          protocol: Database["odoo"]["Enums"]["instance_protocol"]
          request_limit_seconds: number
          secret_ref: string
          updated_at: string
          webhook_hmac_secret_ref: string | null
          webhook_token_hash: string | null
          workspace_id: string
        }
        Insert: {
          active?: boolean
          base_url: string
          created_at?: string
          database: string
          id?: string
          login: string
          name: string
          protocol?: Database["odoo"]["Enums"]["instance_protocol"]
          request_limit_seconds?: number
          secret_ref: string
          updated_at?: string
          webhook_hmac_secret_ref?: string | null
          webhook_token_hash?: string | null
          workspace_id: string
        }
        Update: {
          active?: boolean
          base_url?: string
          created_at?: string
          database?: string
          id?: string
          login?: string
          name?: string
          protocol?: Database["odoo"]["Enums"]["instance_protocol"]
          request_limit_seconds?: number
          secret_ref?: string
          updated_at?: string
          webhook_hmac_secret_ref?: string | null
          webhook_token_hash?: string | null
          workspace_id?: string
        }
        Relationships: []
      }
      outbox: {
        Row: {
          attempts: number
          available_at: string
          claimed_at: string | null
          claimed_by: string | null
          created_at: string
          entity: string
          id: number
          instance_id: string
          last_error: string | null
          local_id: string
          operation: Database["odoo"]["Enums"]["outbox_operation"]
          payload: NonNullable<Json>
          status: Database["odoo"]["Enums"]["queue_status"]
          trace_id: string
          updated_at: string
        }
        Insert: {
          attempts?: number
          available_at?: string
          claimed_at?: string | null
          claimed_by?: string | null
          created_at?: string
          entity: string
          id?: never
          instance_id: string
          last_error?: string | null
          local_id: string
          operation: Database["odoo"]["Enums"]["outbox_operation"]
          payload: NonNullable<Json>
          status?: Database["odoo"]["Enums"]["queue_status"]
          trace_id: string
          updated_at?: string
        }
        Update: {
          attempts?: number
          available_at?: string
          claimed_at?: string | null
          claimed_by?: string | null
          created_at?: string
          entity?: string
          id?: never
          instance_id?: string
          last_error?: string | null
          local_id?: string
          operation?: Database["odoo"]["Enums"]["outbox_operation"]
          payload?: NonNullable<Json>
          status?: Database["odoo"]["Enums"]["queue_status"]
          trace_id?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "outbox_instance_id_fkey"
            columns: ["instance_id"]
            isOneToOne: false
            referencedRelation: "instances"
            referencedColumns: ["id"]
          },
        ]
      }
      sync_cursors: {
        Row: {
          created_at: string
          entity: string
          id: string
          instance_id: string
          last_id: number
          last_run_id: string | null
          last_write_date: string | null
          odoo_checked_at: string | null
          odoo_head_write_date: string | null
          odoo_model: string
          updated_at: string
        }
        Insert: {
          created_at?: string
          entity: string
          id?: string
          instance_id: string
          last_id?: number
          last_run_id?: string | null
          last_write_date?: string | null
          odoo_checked_at?: string | null
          odoo_head_write_date?: string | null
          odoo_model: string
          updated_at?: string
        }
        Update: {
          created_at?: string
          entity?: string
          id?: string
          instance_id?: string
          last_id?: number
          last_run_id?: string | null
          last_write_date?: string | null
          odoo_checked_at?: string | null
          odoo_head_write_date?: string | null
          odoo_model?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "sync_cursors_instance_id_fkey"
            columns: ["instance_id"]
            isOneToOne: false
            referencedRelation: "instances"
            referencedColumns: ["id"]
          },
        ]
      }
      webhook_events: {
        Row: {
          attempts: number
          available_at: string
          id: number
          idempotency_key: string
          instance_id: string
          last_error: string | null
          odoo_id: number | null
          odoo_model: string
          payload: NonNullable<Json>
          processed_at: string | null
          received_at: string
          recheck_at: string | null
          status: Database["odoo"]["Enums"]["queue_status"]
          trace_id: string
        }
        Insert: {
          attempts?: number
          available_at?: string
          id?: never
          idempotency_key: string
          instance_id: string
          last_error?: string | null
          odoo_id?: number | null
          odoo_model: string
          payload: NonNullable<Json>
          processed_at?: string | null
          received_at?: string
          recheck_at?: string | null
          status?: Database["odoo"]["Enums"]["queue_status"]
          trace_id: string
        }
        Update: {
          attempts?: number
          available_at?: string
          id?: never
          idempotency_key?: string
          instance_id?: string
          last_error?: string | null
          odoo_id?: number | null
          odoo_model?: string
          payload?: NonNullable<Json>
          processed_at?: string | null
          received_at?: string
          recheck_at?: string | null
          status?: Database["odoo"]["Enums"]["queue_status"]
          trace_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "webhook_events_instance_id_fkey"
            columns: ["instance_id"]
            isOneToOne: false
            referencedRelation: "instances"
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
      companies_kind: "person" | "company"
      dead_letter_source: "pull" | "push" | "webhook"
      instance_protocol: "jsonrpc" | "xmlrpc" | "json2"
      outbox_operation: "create" | "write" | "unlink"
      queue_status: "pending" | "processing" | "done" | "dead"
    }
    CompositeTypes: {
      [_ in never]: never
    }
  }
}

type SchemaName = Exclude<keyof Database, "__InternalSupabase">

// Helpers resolve a bare table or enum name in the default schema, app; pass
// { schema: "..." } first for another one, as in Tables<{ schema: "app" }, "leads">.
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
      seats_level: ["manager", "agent"],
    },
  },
  odoo: {
    Enums: {
      companies_kind: ["person", "company"],
      dead_letter_source: ["pull", "push", "webhook"],
      instance_protocol: ["jsonrpc", "xmlrpc", "json2"],
      outbox_operation: ["create", "write", "unlink"],
      queue_status: ["pending", "processing", "done", "dead"],
    },
  },
} as const
