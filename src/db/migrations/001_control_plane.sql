-- Control plane: plans, tenants, users, memberships, API keys, channels, audit log.
--
-- Tenancy rules (docs/tenancy.md):
--  * every tenant table has tenant_id first in its primary key, RLS enabled AND forced;
--  * the app role sees a row only when app.tenant_id (set per transaction) matches;
--  * the migration owner gets its own permissive policy so SECURITY DEFINER lookups it owns
--    (API-key auth, webhook routing, job claims) can read across tenants; the app role cannot.

create function app_tenant() returns text language sql stable
  as $$ select nullif(current_setting('app.tenant_id', true), '') $$;

-- Superadmin reads across tenants (admin audit log, usage, tenant list); set per transaction.
create function app_platform() returns boolean language sql stable
  as $$ select coalesce(current_setting('app.platform', true), '') = 'on' $$;

-- Makes a table a tenant table. `platform_readable` lets superadmin transactions read (not write).
create function sb_tenant_table(tbl regclass, platform_readable boolean default false) returns void
language plpgsql as $$
begin
  execute format('alter table %s enable row level security', tbl);
  execute format('alter table %s force row level security', tbl);
  execute format('create policy tenant_isolation on %s using (tenant_id = app_tenant()) with check (tenant_id = app_tenant())', tbl);
  if platform_readable then
    execute format('create policy platform_read on %s for select using (app_platform())', tbl);
  end if;
  execute format('create policy owner_all on %s to %I using (true) with check (true)', tbl, current_user);
end $$;

create table plans (
  id                       text primary key,
  name                     text not null,
  messages_per_day         integer,
  messages_per_month       integer,
  max_channels             integer,
  api_requests_per_minute  integer,
  created_at               timestamptz not null default now(),
  updated_at               timestamptz not null default now()
);
insert into plans (id, name, messages_per_day, messages_per_month, max_channels, api_requests_per_minute) values
  ('free', 'Free', 1000, 10000, 2, 120),
  ('pro', 'Pro', 100000, 2000000, 25, 3000),
  ('unlimited', 'Unlimited', null, null, null, null);

create table tenants (
  id               text primary key,
  slug             text not null unique check (slug ~ '^[a-z0-9](-?[a-z0-9])*$' and length(slug) <= 63),
  name             text not null,
  status           text not null default 'active' check (status in ('active', 'suspended')),
  plan_id          text not null references plans(id),
  limits_override  jsonb not null default '{}',
  branding         jsonb not null default '{}',
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now()
);
-- tenants is keyed by its own id; the same isolation applies with id in place of tenant_id.
alter table tenants enable row level security;
alter table tenants force row level security;
create policy tenant_isolation on tenants using (id = app_tenant()) with check (id = app_tenant());
create policy platform_all on tenants using (app_platform()) with check (app_platform());
do $$ begin execute format('create policy owner_all on tenants to %I using (true) with check (true)', current_user); end $$;

-- Global identities (a person may belong to several tenants). Not tenant data: no tenant_id.
create table users (
  id             text primary key,
  email          text not null,
  name           text not null default '',
  password_hash  text not null,
  is_superadmin  boolean not null default false,
  created_at     timestamptz not null default now()
);
create unique index users_email_key on users (lower(email));

create table memberships (
  tenant_id   text not null references tenants(id) on delete cascade,
  user_id     text not null references users(id) on delete cascade,
  role        text not null check (role in ('owner', 'admin', 'agent', 'viewer')),
  created_at  timestamptz not null default now(),
  primary key (tenant_id, user_id)
);
select sb_tenant_table('memberships');

-- Dashboard sessions: looked up by token hash before the tenant is known.
create table dashboard_sessions (
  id            text primary key,
  token_hash    bytea not null unique,
  csrf_hash     bytea not null,
  user_id       text not null references users(id) on delete cascade,
  tenant_id     text references tenants(id) on delete cascade,
  superadmin    boolean not null default false,
  created_at    timestamptz not null default now(),
  expires_at    timestamptz not null
);

create table api_keys (
  tenant_id     text not null references tenants(id) on delete cascade,
  id            text not null,
  name          text not null,
  -- First characters of the key (prefix + 4), shown in listings so people can tell keys apart.
  hint          text not null,
  key_hash      bytea not null unique,
  scopes        text[] not null,
  mode          text not null check (mode in ('live', 'test')),
  created_by    text,
  created_at    timestamptz not null default now(),
  expires_at    timestamptz,
  revoked_at    timestamptz,
  last_used_at  timestamptz,
  primary key (tenant_id, id)
);
select sb_tenant_table('api_keys');

-- Superadmin API keys (control plane, `sb_admin_` prefix).
create table admin_keys (
  id            text primary key,
  name          text not null,
  hint          text not null,
  key_hash      bytea not null unique,
  created_at    timestamptz not null default now(),
  revoked_at    timestamptz,
  last_used_at  timestamptz
);

create table channels (
  tenant_id           text not null references tenants(id) on delete cascade,
  id                  text not null,
  name                text not null,
  provider            text not null check (provider in ('cloud-api', 'waha', 'ultramsg', 'sandbox')),
  external_id         text not null,
  status              text not null default 'active' check (status in ('active', 'disabled')),
  -- AES-256-GCM envelope of the secret credential fields (src/crypto/vault.ts); never plaintext.
  secrets_enc         text not null,
  -- Non-secret credential fields (ids, base URLs), returned as-is.
  settings            jsonb not null default '{}',
  -- Unguessable token in per-channel webhook URLs (WAHA, UltraMsg, sandbox).
  webhook_token       text not null unique,
  rate_per_second     double precision not null,
  burst               integer not null,
  daily_limit         integer,
  health              jsonb not null default '{}',
  created_at          timestamptz not null default now(),
  updated_at          timestamptz not null default now(),
  primary key (tenant_id, id),
  -- How inbound webhooks are routed: one owner per provider line, across all tenants.
  unique (provider, external_id)
);
select sb_tenant_table('channels');

create table audit_log (
  tenant_id    text not null,   -- 'platform' for superadmin actions on no tenant
  id           text not null,
  at           timestamptz not null default now(),
  actor_type   text not null,   -- user | api_key | jwt | superadmin | admin_key | cli | system
  actor_id     text,
  action       text not null,   -- e.g. channel.created
  target_type  text,
  target_id    text,
  ip           text,
  details      jsonb not null default '{}',
  primary key (tenant_id, id)
);
select sb_tenant_table('audit_log', true);

-- Narrow cross-tenant lookups, run as the owner. The app role may call them, nothing more.
create function sb_find_api_key(p_hash bytea)
returns table (tenant_id text, id text, scopes text[], expires_at timestamptz, revoked_at timestamptz,
               tenant_status text)
language sql stable security definer set search_path = public as $$
  select k.tenant_id, k.id, k.scopes, k.expires_at, k.revoked_at, t.status
  from api_keys k join tenants t on t.id = k.tenant_id
  where k.key_hash = p_hash
$$;

create function sb_touch_api_key(p_tenant text, p_id text) returns void
language sql volatile security definer set search_path = public as $$
  update api_keys set last_used_at = now()
  where tenant_id = p_tenant and id = p_id and (last_used_at is null or last_used_at < now() - interval '1 minute')
$$;

create function sb_route_channel(p_provider text, p_external_id text)
returns table (tenant_id text, id text, status text)
language sql stable security definer set search_path = public as $$
  select c.tenant_id, c.id, c.status from channels c
  where c.provider = p_provider and c.external_id = p_external_id
$$;

create function sb_route_channel_token(p_provider text, p_token text)
returns table (tenant_id text, id text, status text)
language sql stable security definer set search_path = public as $$
  select c.tenant_id, c.id, c.status from channels c
  where c.provider = p_provider and c.webhook_token = p_token
$$;

create function sb_external_id_taken(p_provider text, p_external_id text, p_except text)
returns boolean
language sql stable security definer set search_path = public as $$
  select exists (select 1 from channels c where c.provider = p_provider and c.external_id = p_external_id
                 and c.id <> coalesce(p_except, ''))
$$;
