-- Tenant events, webhook endpoints and their deliveries (docs/events.md).

create table events (
  tenant_id   text not null references tenants(id) on delete cascade,
  id          text not null,                 -- evt_…, sortable: the SSE Last-Event-ID
  type        text not null,                 -- message.received, message.status, …
  channel_id  text,
  data        jsonb not null,
  created_at  timestamptz not null default now(),
  primary key (tenant_id, id)
);
select sb_tenant_table('events');
create index events_type on events (tenant_id, type, id);

create table webhook_endpoints (
  tenant_id            text not null references tenants(id) on delete cascade,
  id                   text not null,
  url                  text not null,
  description          text,
  event_types          text[] not null,     -- '*' = every type
  status               text not null default 'enabled' check (status in ('enabled', 'disabled')),
  disabled_reason      text,
  -- whsec_… sealed with the vault, AAD tenant + endpoint id; the previous one during rotation.
  secret_enc           text not null,
  previous_secret_enc  text,
  previous_expires_at  timestamptz,
  failing_since        timestamptz,
  created_at           timestamptz not null default now(),
  updated_at           timestamptz not null default now(),
  primary key (tenant_id, id)
);
select sb_tenant_table('webhook_endpoints');

create table event_deliveries (
  tenant_id        text not null references tenants(id) on delete cascade,
  id               text not null,
  endpoint_id      text not null,
  event_id         text not null,
  -- pending → succeeded | failed (retries exhausted, endpoint gone/disabled)
  status           text not null default 'pending' check (status in ('pending', 'succeeded', 'failed')),
  attempts         integer not null default 0,
  next_attempt_at  timestamptz not null default now(),
  locked_until     timestamptz,
  last_status_code integer,
  last_error       text,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  primary key (tenant_id, id),
  foreign key (tenant_id, endpoint_id) references webhook_endpoints (tenant_id, id) on delete cascade,
  foreign key (tenant_id, event_id) references events (tenant_id, id) on delete cascade
);
select sb_tenant_table('event_deliveries');
create index event_deliveries_due on event_deliveries (next_attempt_at) where status = 'pending';
create index event_deliveries_endpoint on event_deliveries (tenant_id, endpoint_id, id desc);

create table event_delivery_attempts (
  tenant_id    text not null references tenants(id) on delete cascade,
  id           text not null,
  delivery_id  text not null,
  status_code  integer,
  latency_ms   integer not null,
  error        text,
  at           timestamptz not null default now(),
  primary key (tenant_id, id),
  foreign key (tenant_id, delivery_id) references event_deliveries (tenant_id, id) on delete cascade
);
select sb_tenant_table('event_delivery_attempts');
create index event_delivery_attempts_delivery on event_delivery_attempts (tenant_id, delivery_id, id);

-- Fair claim across tenants: at most p_per_tenant due deliveries per tenant per claim, so one
-- tenant's backlog (or its dead endpoint holding slots for the whole timeout) cannot fill the batch.
create function sb_event_delivery_claim(p_limit integer, p_per_tenant integer, p_lease_ms integer)
returns table (tenant_id text, id text)
language sql volatile security definer set search_path = public as $$
  update event_deliveries d set locked_until = now() + make_interval(secs => p_lease_ms / 1000.0)
  from (
    select x.tenant_id, x.id from (
      select e.tenant_id, e.id, e.next_attempt_at,
             row_number() over (partition by e.tenant_id order by e.next_attempt_at) as rn
      from event_deliveries e
      where e.status = 'pending' and e.next_attempt_at <= now() and (e.locked_until is null or e.locked_until < now())
      order by e.next_attempt_at limit 2000
    ) x where x.rn <= p_per_tenant order by x.next_attempt_at limit p_limit
  ) c
  where d.tenant_id = c.tenant_id and d.id = c.id and d.status = 'pending'
    and (d.locked_until is null or d.locked_until < now())
  returning d.tenant_id, d.id
$$;

-- SSE wake-up across processes: which tenants have events newer than a point in time. Tenant ids
-- and times only; each stream then reads its own tenant's events under RLS.
create index events_created on events (created_at);
create function sb_event_tenants_since(p_since timestamptz)
returns table (tenant_id text, latest timestamptz)
language sql stable security definer set search_path = public as $$
  select e.tenant_id, max(e.created_at) from events e where e.created_at > p_since group by e.tenant_id
$$;
