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
      comments: {
        Row: {
          body: string
          created_at: string
          created_by: string | null
          id: string
          org_id: string
          task_id: string
          updated_at: string
        }
        Insert: {
          body: string
          created_at?: string
          created_by?: string | null
          id?: string
          org_id: string
          task_id: string
          updated_at?: string
        }
        Update: {
          body?: string
          created_at?: string
          created_by?: string | null
          id?: string
          org_id?: string
          task_id?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "comments_org_id_fkey"
            columns: ["org_id"]
            isOneToOne: false
            referencedRelation: "orgs"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "comments_task_id_fkey"
            columns: ["org_id", "task_id"]
            isOneToOne: false
            referencedRelation: "tasks"
            referencedColumns: ["org_id", "id"]
          },
        ]
      }
      contacts: {
        Row: {
          company_id: string | null
          created_at: string
          email: string | null
          full_name: string
          id: string
          instance_id: string | null
          notes: string | null
          odoo_deleted_at: string | null
          odoo_id: number | null
          odoo_write_date: string | null
          org_id: string
          phone: string | null
          synced_at: string | null
          updated_at: string
        }
        Insert: {
          company_id?: string | null
          created_at?: string
          email?: string | null
          full_name: string
          id?: string
          instance_id?: string | null
          notes?: string | null
          odoo_deleted_at?: string | null
          odoo_id?: number | null
          odoo_write_date?: string | null
          org_id: string
          phone?: string | null
          synced_at?: string | null
          updated_at?: string
        }
        Update: {
          company_id?: string | null
          created_at?: string
          email?: string | null
          full_name?: string
          id?: string
          instance_id?: string | null
          notes?: string | null
          odoo_deleted_at?: string | null
          odoo_id?: number | null
          odoo_write_date?: string | null
          org_id?: string
          phone?: string | null
          synced_at?: string | null
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "contacts_org_id_fkey"
            columns: ["org_id"]
            isOneToOne: false
            referencedRelation: "orgs"
            referencedColumns: ["id"]
          },
        ]
      }
      memberships: {
        Row: {
          created_at: string
          id: string
          org_id: string
          role: Database["app"]["Enums"]["org_role"]
          updated_at: string
          user_id: string
        }
        Insert: {
          created_at?: string
          id?: string
          org_id: string
          role?: Database["app"]["Enums"]["org_role"]
          updated_at?: string
          user_id: string
        }
        Update: {
          created_at?: string
          id?: string
          org_id?: string
          role?: Database["app"]["Enums"]["org_role"]
          updated_at?: string
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "memberships_org_id_fkey"
            columns: ["org_id"]
            isOneToOne: false
            referencedRelation: "orgs"
            referencedColumns: ["id"]
          },
        ]
      }
      orgs: {
        Row: {
          created_at: string
          id: string
          name: string
          plan: Database["app"]["Enums"]["orgs_plan"]
          slug: string
          updated_at: string
        }
        Insert: {
          created_at?: string
          id?: string
          name: string
          plan?: Database["app"]["Enums"]["orgs_plan"]
          slug: string
          updated_at?: string
        }
        Update: {
          created_at?: string
          id?: string
          name?: string
          plan?: Database["app"]["Enums"]["orgs_plan"]
          slug?: string
          updated_at?: string
        }
        Relationships: []
      }
      profiles: {
        Row: {
          avatar_url: string | null
          created_at: string
          display_name: string
          email: string | null
          id: string
          updated_at: string
        }
        Insert: {
          avatar_url?: string | null
          created_at?: string
          display_name: string
          email?: string | null
          id: string
          updated_at?: string
        }
        Update: {
          avatar_url?: string | null
          created_at?: string
          display_name?: string
          email?: string | null
          id?: string
          updated_at?: string
        }
        Relationships: []
      }
      projects: {
        Row: {
          budget: number | null
          created_at: string
          created_by: string | null
          customer_id: string | null
          description: string | null
          id: string
          name: string
          org_id: string
          starts_on: string | null
          tags: string[]
          updated_at: string
        }
        Insert: {
          budget?: number | null
          created_at?: string
          created_by?: string | null
          customer_id?: string | null
          description?: string | null
          id?: string
          name: string
          org_id: string
          starts_on?: string | null
          tags?: string[]
          updated_at?: string
        }
        Update: {
          budget?: number | null
          created_at?: string
          created_by?: string | null
          customer_id?: string | null
          description?: string | null
          id?: string
          name?: string
          org_id?: string
          starts_on?: string | null
          tags?: string[]
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "projects_org_id_fkey"
            columns: ["org_id"]
            isOneToOne: false
            referencedRelation: "orgs"
            referencedColumns: ["id"]
          },
        ]
      }
      tasks: {
        Row: {
          assignee_id: string | null
          created_at: string
          created_by: string | null
          due_on: string | null
          estimate_hours: number | null
          id: string
          metadata: NonNullable<Json>
          org_id: string
          priority: number
          product_id: string | null
          project_id: string
          status: Database["app"]["Enums"]["task_status"]
          title: string
          updated_at: string
        }
        Insert: {
          assignee_id?: string | null
          created_at?: string
          created_by?: string | null
          due_on?: string | null
          estimate_hours?: number | null
          id?: string
          metadata?: NonNullable<Json>
          org_id: string
          priority?: number
          product_id?: string | null
          project_id: string
          status?: Database["app"]["Enums"]["task_status"]
          title: string
          updated_at?: string
        }
        Update: {
          assignee_id?: string | null
          created_at?: string
          created_by?: string | null
          due_on?: string | null
          estimate_hours?: number | null
          id?: string
          metadata?: NonNullable<Json>
          org_id?: string
          priority?: number
          product_id?: string | null
          project_id?: string
          status?: Database["app"]["Enums"]["task_status"]
          title?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "tasks_org_id_fkey"
            columns: ["org_id"]
            isOneToOne: false
            referencedRelation: "orgs"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "tasks_project_id_fkey"
            columns: ["org_id", "project_id"]
            isOneToOne: false
            referencedRelation: "projects"
            referencedColumns: ["org_id", "id"]
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
      org_role: "owner" | "admin" | "member" | "viewer"
      orgs_plan: "free" | "team" | "enterprise"
      task_status: "todo" | "in_progress" | "blocked" | "done"
    }
    CompositeTypes: {
      [_ in never]: never
    }
  }
  odoo: {
    Tables: {
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
          org_id: string
          protocol: Database["odoo"]["Enums"]["instance_protocol"]
          request_limit_seconds: number
          secret_ref: string
          updated_at: string
          webhook_hmac_secret_ref: string | null
          webhook_token_hash: string | null
        }
        Insert: {
          active?: boolean
          base_url: string
          created_at?: string
          database: string
          id?: string
          login: string
          name: string
          org_id: string
          protocol?: Database["odoo"]["Enums"]["instance_protocol"]
          request_limit_seconds?: number
          secret_ref: string
          updated_at?: string
          webhook_hmac_secret_ref?: string | null
          webhook_token_hash?: string | null
        }
        Update: {
          active?: boolean
          base_url?: string
          created_at?: string
          database?: string
          id?: string
          login?: string
          name?: string
          org_id?: string
          protocol?: Database["odoo"]["Enums"]["instance_protocol"]
          request_limit_seconds?: number
          secret_ref?: string
          updated_at?: string
          webhook_hmac_secret_ref?: string | null
          webhook_token_hash?: string | null
        }
        Relationships: []
      }
      invoices: {
        Row: {
          amount_residual: number | null
          amount_total: number | null
          created_at: string
          id: string
          instance_id: string
          invoice_date: string | null
          move_type: Database["odoo"]["Enums"]["invoices_move_type"]
          name: string | null
          odoo_deleted_at: string | null
          odoo_id: number
          odoo_write_date: string | null
          org_id: string
          partner_id: string | null
          state: Database["odoo"]["Enums"]["invoices_state"]
          synced_at: string | null
          updated_at: string
        }
        Insert: {
          amount_residual?: number | null
          amount_total?: number | null
          created_at?: string
          id?: string
          instance_id: string
          invoice_date?: string | null
          move_type: Database["odoo"]["Enums"]["invoices_move_type"]
          name?: string | null
          odoo_deleted_at?: string | null
          odoo_id: number
          odoo_write_date?: string | null
          org_id: string
          partner_id?: string | null
          state: Database["odoo"]["Enums"]["invoices_state"]
          synced_at?: string | null
          updated_at?: string
        }
        Update: {
          amount_residual?: number | null
          amount_total?: number | null
          created_at?: string
          id?: string
          instance_id?: string
          invoice_date?: string | null
          move_type?: Database["odoo"]["Enums"]["invoices_move_type"]
          name?: string | null
          odoo_deleted_at?: string | null
          odoo_id?: number
          odoo_write_date?: string | null
          org_id?: string
          partner_id?: string | null
          state?: Database["odoo"]["Enums"]["invoices_state"]
          synced_at?: string | null
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "invoices_instance_id_fkey"
            columns: ["org_id", "instance_id"]
            isOneToOne: false
            referencedRelation: "instances"
            referencedColumns: ["org_id", "id"]
          },
          {
            foreignKeyName: "invoices_partner_id_fkey"
            columns: ["org_id", "partner_id"]
            isOneToOne: false
            referencedRelation: "partners"
            referencedColumns: ["org_id", "id"]
          },
        ]
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
      partners: {
        Row: {
          active: boolean
          city: string | null
          created_at: string
          email: string | null
          id: string
          instance_id: string
          is_company: boolean
          name: string
          odoo_deleted_at: string | null
          odoo_id: number
          odoo_write_date: string | null
          org_id: string
          parent_id: string | null
          phone: string | null
          synced_at: string | null
          updated_at: string
          vat: string | null
        }
        Insert: {
          active?: boolean
          city?: string | null
          created_at?: string
          email?: string | null
          id?: string
          instance_id: string
          is_company?: boolean
          name: string
          odoo_deleted_at?: string | null
          odoo_id: number
          odoo_write_date?: string | null
          org_id: string
          parent_id?: string | null
          phone?: string | null
          synced_at?: string | null
          updated_at?: string
          vat?: string | null
        }
        Update: {
          active?: boolean
          city?: string | null
          created_at?: string
          email?: string | null
          id?: string
          instance_id?: string
          is_company?: boolean
          name?: string
          odoo_deleted_at?: string | null
          odoo_id?: number
          odoo_write_date?: string | null
          org_id?: string
          parent_id?: string | null
          phone?: string | null
          synced_at?: string | null
          updated_at?: string
          vat?: string | null
        }
        Relationships: [
          {
            foreignKeyName: "partners_instance_id_fkey"
            columns: ["org_id", "instance_id"]
            isOneToOne: false
            referencedRelation: "instances"
            referencedColumns: ["org_id", "id"]
          },
          {
            foreignKeyName: "partners_parent_id_fkey"
            columns: ["org_id", "parent_id"]
            isOneToOne: false
            referencedRelation: "partners"
            referencedColumns: ["org_id", "id"]
          },
        ]
      }
      products: {
        Row: {
          active: boolean
          created_at: string
          default_code: string | null
          id: string
          instance_id: string
          list_price: number | null
          name: string
          odoo_deleted_at: string | null
          odoo_id: number
          odoo_write_date: string | null
          org_id: string
          synced_at: string | null
          updated_at: string
        }
        Insert: {
          active?: boolean
          created_at?: string
          default_code?: string | null
          id?: string
          instance_id: string
          list_price?: number | null
          name: string
          odoo_deleted_at?: string | null
          odoo_id: number
          odoo_write_date?: string | null
          org_id: string
          synced_at?: string | null
          updated_at?: string
        }
        Update: {
          active?: boolean
          created_at?: string
          default_code?: string | null
          id?: string
          instance_id?: string
          list_price?: number | null
          name?: string
          odoo_deleted_at?: string | null
          odoo_id?: number
          odoo_write_date?: string | null
          org_id?: string
          synced_at?: string | null
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "products_instance_id_fkey"
            columns: ["org_id", "instance_id"]
            isOneToOne: false
            referencedRelation: "instances"
            referencedColumns: ["org_id", "id"]
          },
        ]
      }
      sale_order_lines: {
        Row: {
          created_at: string
          id: string
          instance_id: string
          name: string | null
          odoo_deleted_at: string | null
          odoo_id: number
          odoo_write_date: string | null
          order_id: string
          org_id: string
          price_subtotal: number | null
          price_unit: number | null
          product_id: string | null
          product_uom_qty: number | null
          synced_at: string | null
          updated_at: string
        }
        Insert: {
          created_at?: string
          id?: string
          instance_id: string
          name?: string | null
          odoo_deleted_at?: string | null
          odoo_id: number
          odoo_write_date?: string | null
          order_id: string
          org_id: string
          price_subtotal?: number | null
          price_unit?: number | null
          product_id?: string | null
          product_uom_qty?: number | null
          synced_at?: string | null
          updated_at?: string
        }
        Update: {
          created_at?: string
          id?: string
          instance_id?: string
          name?: string | null
          odoo_deleted_at?: string | null
          odoo_id?: number
          odoo_write_date?: string | null
          order_id?: string
          org_id?: string
          price_subtotal?: number | null
          price_unit?: number | null
          product_id?: string | null
          product_uom_qty?: number | null
          synced_at?: string | null
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "sale_order_lines_instance_id_fkey"
            columns: ["org_id", "instance_id"]
            isOneToOne: false
            referencedRelation: "instances"
            referencedColumns: ["org_id", "id"]
          },
          {
            foreignKeyName: "sale_order_lines_order_id_fkey"
            columns: ["org_id", "order_id"]
            isOneToOne: false
            referencedRelation: "sale_orders"
            referencedColumns: ["org_id", "id"]
          },
          {
            foreignKeyName: "sale_order_lines_product_id_fkey"
            columns: ["org_id", "product_id"]
            isOneToOne: false
            referencedRelation: "products"
            referencedColumns: ["org_id", "id"]
          },
        ]
      }
      sale_orders: {
        Row: {
          amount_total: number | null
          created_at: string
          date_order: string | null
          id: string
          instance_id: string
          name: string
          odoo_deleted_at: string | null
          odoo_id: number
          odoo_write_date: string | null
          org_id: string
          partner_id: string | null
          state: Database["odoo"]["Enums"]["sale_orders_state"]
          synced_at: string | null
          updated_at: string
        }
        Insert: {
          amount_total?: number | null
          created_at?: string
          date_order?: string | null
          id?: string
          instance_id: string
          name: string
          odoo_deleted_at?: string | null
          odoo_id: number
          odoo_write_date?: string | null
          org_id: string
          partner_id?: string | null
          state: Database["odoo"]["Enums"]["sale_orders_state"]
          synced_at?: string | null
          updated_at?: string
        }
        Update: {
          amount_total?: number | null
          created_at?: string
          date_order?: string | null
          id?: string
          instance_id?: string
          name?: string
          odoo_deleted_at?: string | null
          odoo_id?: number
          odoo_write_date?: string | null
          org_id?: string
          partner_id?: string | null
          state?: Database["odoo"]["Enums"]["sale_orders_state"]
          synced_at?: string | null
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "sale_orders_instance_id_fkey"
            columns: ["org_id", "instance_id"]
            isOneToOne: false
            referencedRelation: "instances"
            referencedColumns: ["org_id", "id"]
          },
          {
            foreignKeyName: "sale_orders_partner_id_fkey"
            columns: ["org_id", "partner_id"]
            isOneToOne: false
            referencedRelation: "partners"
            referencedColumns: ["org_id", "id"]
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
      dead_letter_source: "pull" | "push" | "webhook"
      instance_protocol: "jsonrpc" | "xmlrpc" | "json2"
      invoices_move_type:
        | "entry"
        | "out_invoice"
        | "out_refund"
        | "in_invoice"
        | "in_refund"
      invoices_state: "draft" | "posted" | "cancel"
      outbox_operation: "create" | "write" | "unlink"
      queue_status: "pending" | "processing" | "done" | "dead"
      sale_orders_state: "draft" | "sent" | "sale" | "cancel"
    }
    CompositeTypes: {
      [_ in never]: never
    }
  }
}

type SchemaName = Exclude<keyof Database, "__InternalSupabase">

// Helpers resolve a bare table or enum name in the default schema, app; pass
// { schema: "..." } first for another one, as in Tables<{ schema: "app" }, "comments">.
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
      org_role: ["owner", "admin", "member", "viewer"],
      orgs_plan: ["free", "team", "enterprise"],
      task_status: ["todo", "in_progress", "blocked", "done"],
    },
  },
  odoo: {
    Enums: {
      dead_letter_source: ["pull", "push", "webhook"],
      instance_protocol: ["jsonrpc", "xmlrpc", "json2"],
      invoices_move_type: [
        "entry",
        "out_invoice",
        "out_refund",
        "in_invoice",
        "in_refund",
      ],
      invoices_state: ["draft", "posted", "cancel"],
      outbox_operation: ["create", "write", "unlink"],
      queue_status: ["pending", "processing", "done", "dead"],
      sale_orders_state: ["draft", "sent", "sale", "cancel"],
    },
  },
} as const
