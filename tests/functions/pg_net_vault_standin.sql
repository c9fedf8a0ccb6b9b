-- Stand-ins for pg_net and Supabase Vault, which Debian does not package: only what the schedule-functions
-- migration calls, with the real signatures, for a test database only.
--
-- net.http_post: pg_net's sql/pg_net.sql (supabase/pg_net, docs/api.md): http_post(url text, body jsonb
-- default '{}', params jsonb default '{}', headers jsonb default '{"Content-Type": "application/json"}',
-- timeout_milliseconds int) returns bigint, the id of the queued request (sent after the transaction
-- commits). Here it records its arguments in net.requests_made and returns that row's id; nothing is sent.
create schema if not exists net;
create table net.requests_made (
  id bigserial primary key,
  url text not null,
  body jsonb,
  params jsonb,
  headers jsonb,
  timeout_milliseconds int
);
create function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds int default 5000
) returns bigint language sql volatile as $$
  insert into net.requests_made (url, body, params, headers, timeout_milliseconds)
  values (url, body, params, headers, timeout_milliseconds) returning id
$$;

-- Vault (supabase/vault, sql/supabase_vault--*.sql; supabase.com/docs/guides/database/vault): secrets in
-- vault.secrets (encrypted there; plain text here), read through the view vault.decrypted_secrets, whose
-- decrypted_secret column holds the value; vault.create_secret(new_secret, new_name, new_description,
-- new_key_id) returns the secret's uuid.
create schema if not exists vault;
create table vault.secrets (
  id uuid primary key default gen_random_uuid(),
  name text unique,
  description text not null default '',
  secret text not null,
  key_id uuid,
  nonce bytea,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create view vault.decrypted_secrets as
  select id, name, description, secret, secret as decrypted_secret, key_id, nonce, created_at, updated_at
  from vault.secrets;
create function vault.create_secret(new_secret text, new_name text default null, new_description text default '',
                                    new_key_id uuid default null) returns uuid language sql volatile as $$
  insert into vault.secrets (secret, name, description, key_id)
  values (new_secret, new_name, new_description, new_key_id) returning id
$$;
