-- Inbound pipeline (docs/inbound.md, docs/decisions/020-inbox-per-routed-channel.md).
--
-- Ingress routes and verifies a webhook BEFORE it writes anything, then commits one inbox row per
-- routed channel (tenant-scoped, RLS forced) and only then answers 200. A Cloud API batch that
-- spans lines of several tenants is split per line so no tenant's row holds another tenant's data.
-- Payloads nobody owns / with a bad signature / unparseable before routing go to inbound_rejects:
-- routing keys, reason, size and hash only, never the body.

create table inbox (
  tenant_id     text not null references tenants(id) on delete cascade,
  id            text not null,
  channel_id    text not null,
  provider      text not null,
  -- pending → done | rejected (parse failed; kept for inspection)
  status        text not null default 'pending' check (status in ('pending', 'done', 'rejected')),
  body          bytea not null,
  headers       jsonb not null default '{}',
  split         boolean not null default false,  -- body is this line's share of a multi-line batch
  attempts      integer not null default 0,
  locked_until  timestamptz,
  error         text,
  received_at   timestamptz not null default now(),
  processed_at  timestamptz,
  primary key (tenant_id, id),
  foreign key (tenant_id, channel_id) references channels (tenant_id, id) on delete cascade
);
select sb_tenant_table('inbox');
create index inbox_pending on inbox (received_at) where status = 'pending';

-- Control-plane record of refused webhooks (strict mode). No body: it may belong to anyone.
create table inbound_rejects (
  id            text primary key,
  provider      text not null,
  reason        text not null,   -- unroutable | bad_signature | malformed | disabled
  routing_keys  text[] not null default '{}',
  body_bytes    integer not null,
  body_sha256   text not null,
  at            timestamptz not null default now()
);
create index inbound_rejects_at on inbound_rejects (at);

-- Exactly-once processing of provider events per channel (redeliveries, duplicated batches).
create table inbound_dedupe (
  tenant_id   text not null references tenants(id) on delete cascade,
  channel_id  text not null,
  dedupe_key  text not null,
  at          timestamptz not null default now(),
  primary key (tenant_id, channel_id, dedupe_key)
);
select sb_tenant_table('inbound_dedupe');

-- Routing with what signature checks need. The envelope is useless without the vault's master key
-- and its AAD (tenant + channel id), which the app has anyway; the app role still cannot read
-- channels of other tenants through any other path.
create function sb_route_channel_secret(p_provider text, p_external_id text, p_token text)
returns table (tenant_id text, id text, status text, external_id text, secrets_enc text, settings jsonb, tenant_status text)
language sql stable security definer set search_path = public as $$
  select c.tenant_id, c.id, c.status, c.external_id, c.secrets_enc, c.settings, t.status
  from channels c join tenants t on t.id = c.tenant_id
  where c.provider = p_provider
    and ((p_external_id is not null and c.external_id = p_external_id)
      or (p_token is not null and c.webhook_token = p_token))
$$;

-- One round trip per routed channel on the acknowledge path (no tenant transaction needed); the
-- (tenant_id, channel_id) foreign key refuses a channel that is not the tenant's.
create function sb_inbox_put(p_tenant text, p_id text, p_channel text, p_provider text, p_body bytea, p_headers jsonb, p_split boolean)
returns void language plpgsql volatile security definer set search_path = public as $$
begin
  insert into inbox (tenant_id, id, channel_id, provider, body, headers, split)
  values (p_tenant, p_id, p_channel, p_provider, p_body, p_headers, p_split);
end $$;

create function sb_inbound_reject(p_id text, p_provider text, p_reason text, p_keys text[], p_bytes integer, p_sha text)
returns void language sql volatile security definer set search_path = public as $$
  insert into inbound_rejects (id, provider, reason, routing_keys, body_bytes, body_sha256)
  values (p_id, p_provider, p_reason, p_keys, p_bytes, p_sha)
$$;

-- Worker claim across tenants: a short lease so a crashed worker's rows come back within seconds.
create function sb_inbox_claim(p_limit integer, p_lease_ms integer)
returns table (tenant_id text, id text)
language sql volatile security definer set search_path = public as $$
  update inbox i set locked_until = now() + make_interval(secs => p_lease_ms / 1000.0), attempts = i.attempts + 1
  from (select x.tenant_id, x.id from inbox x
        where x.status = 'pending' and (x.locked_until is null or x.locked_until < now())
        order by x.received_at limit p_limit for update skip locked) c
  where i.tenant_id = c.tenant_id and i.id = c.id
  returning i.tenant_id, i.id
$$;

-- Meta's GET handshake names no line, only a verify token: the candidates are every active Cloud
-- API channel (decrypted and compared in constant time by the app; the handshake is rare).
create function sb_cloud_api_verify_candidates()
returns table (tenant_id text, id text, secrets_enc text, settings jsonb)
language sql stable security definer set search_path = public as $$
  select c.tenant_id, c.id, c.secrets_enc, c.settings from channels c
  where c.provider = 'cloud-api' and c.status = 'active'
$$;

-- Group commit: the rows of every webhook acknowledged in the same few milliseconds, in one
-- statement and one WAL flush (src/inbound/inbox.ts InboxWriter).
create function sb_inbox_put_many(p_tenants text[], p_ids text[], p_channels text[], p_providers text[], p_bodies bytea[], p_headers jsonb[], p_split boolean[])
returns void language sql volatile security definer set search_path = public as $$
  insert into inbox (tenant_id, id, channel_id, provider, body, headers, split)
  select * from unnest(p_tenants, p_ids, p_channels, p_providers, p_bodies, p_headers, p_split)
$$;
