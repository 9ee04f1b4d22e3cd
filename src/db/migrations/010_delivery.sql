-- Outbound delivery: jobs next to their message, per-channel token buckets, quota counters,
-- idempotency keys, early statuses and the status-change log (docs/delivery.md).

-- One job per outbound message not yet accepted by the provider. Written in the same transaction
-- as the message; deleted when the message reaches sent / failed / cancelled.
-- Lane = (tenant, channel, peer): only the lane's oldest job (lowest seq) may be claimed.
create table delivery_jobs (
  tenant_id    text not null references tenants(id) on delete cascade,
  message_id   text not null,
  channel_id   text not null,
  peer         text not null,
  seq          bigint generated always as identity,
  run_at       timestamptz not null default now(),
  lease_owner  text,
  lease_until  timestamptz,
  attempts     integer not null default 0,
  created_at   timestamptz not null default now(),
  last_error   text,
  primary key (tenant_id, message_id),
  foreign key (tenant_id, message_id) references messages (tenant_id, id) on delete cascade
);
select sb_tenant_table('delivery_jobs');
create index delivery_jobs_lane on delivery_jobs (tenant_id, channel_id, peer, seq);
create index delivery_jobs_channel on delivery_jobs (tenant_id, channel_id, seq);

-- Per-channel token bucket shared by every worker. `ready` says the channel has claimable work
-- (set on enqueue, cleared by the claim when it finds nothing), so claims only visit busy channels.
create table delivery_buckets (
  tenant_id     text not null references tenants(id) on delete cascade,
  channel_id    text not null,
  tokens        double precision not null default 0,
  refilled_at   timestamptz not null default now(),
  paused_until  timestamptz not null default '-infinity',
  last_claim_at timestamptz not null default '-infinity',
  primary key (tenant_id, channel_id),
  foreign key (tenant_id, channel_id) references channels (tenant_id, id) on delete cascade
);
select sb_tenant_table('delivery_buckets');

-- Quota counters (only written when a limit applies): scope 'tenant' or a channel id; period
-- 'd:YYYY-MM-DD' or 'm:YYYY-MM' on the tenant's day boundary (UTC today, see decision 013).
create table quota_counters (
  tenant_id  text not null references tenants(id) on delete cascade,
  scope      text not null,
  period     text not null,
  count      integer not null default 0,
  primary key (tenant_id, scope, period)
);
select sb_tenant_table('quota_counters');

-- Stripe-style idempotency: same key + same request within 24 h replays the stored answer.
create table idempotency_keys (
  tenant_id      text not null references tenants(id) on delete cascade,
  key            text not null,
  request_hash   text not null,
  response_code  integer not null,
  response       jsonb not null,
  created_at     timestamptz not null default now(),
  primary key (tenant_id, key)
);
select sb_tenant_table('idempotency_keys');

-- A provider status that arrived before the send's provider id was recorded (the webhook can beat
-- the worker's commit). Applied and deleted when the worker records the id.
create table early_statuses (
  tenant_id            text not null references tenants(id) on delete cascade,
  channel_id           text not null,
  provider_message_id  text not null,
  status               text not null,
  error_code           text,
  error_detail         text,
  at                   timestamptz not null,
  created_at           timestamptz not null default now(),
  primary key (tenant_id, channel_id, provider_message_id, status)
);
select sb_tenant_table('early_statuses');

-- Every outbound status change, in commit order per tenant: the source the events issue fans out.
create table message_status_log (
  tenant_id    text not null references tenants(id) on delete cascade,
  id           bigint generated always as identity,
  message_id   text not null,
  status       text not null,
  error_code   text,
  at           timestamptz not null default now(),
  primary key (tenant_id, id)
);
select sb_tenant_table('message_status_log');

create index messages_lane on messages (tenant_id, channel_id, peer, id) where direction = 'out';
create index messages_status on messages (tenant_id, status, id desc);

-- Claims up to p_limit jobs across tenants for one worker. Narrow by design: returns ids only;
-- the worker then reads and writes each job inside that tenant's own RLS transaction.
-- Channels are visited least-recently-served first (fairness), each bucket row is locked with
-- SKIP LOCKED (workers never queue behind each other). Capacity B = 10 % of the rate (at least 1,
-- at most the channel's burst), refill (rate − B + 1) / 1.15 per second: a window of 1 s sees at most
-- B − 1 + refill × 1.15 = rate sends even when claim-to-wire latency varies by 150 ms (decision 011;
-- with 0.95 instead of 1/1.15 the simulator measured 21 in one second on a 20/s line).
create function sb_claim_jobs(p_worker text, p_limit integer, p_lease_ms integer, p_max_channels integer default 64)
returns table (tenant_id text, message_id text, channel_id text, attempts integer)
language plpgsql volatile security definer set search_path = public as $$
declare
  b record;
  cap double precision;
  avail double precision;
  n integer;
  got integer;
  total integer := 0;
begin
  for b in
    select k.tenant_id, k.channel_id, k.tokens, k.refilled_at, c.rate_per_second, c.burst
    from delivery_buckets k join channels c on c.tenant_id = k.tenant_id and c.id = k.channel_id
      -- A suspended tenant's messages are held (not sent, not failed) until it is reactivated.
      join tenants t on t.id = k.tenant_id
    where k.paused_until <= now() and c.status = 'active' and t.status = 'active'
      and exists (select 1 from delivery_jobs j where j.tenant_id = k.tenant_id and j.channel_id = k.channel_id
                  and j.run_at <= now() and (j.lease_until is null or j.lease_until < now()))
    order by k.last_claim_at
    limit p_max_channels
    for update of k skip locked
  loop
    exit when total >= p_limit;
    cap := greatest(1, least(b.burst, ceil(b.rate_per_second * 0.1)));
    avail := least(cap, b.tokens + extract(epoch from (now() - b.refilled_at)) * (b.rate_per_second - cap + 1) / 1.15);
    n := least(floor(avail)::integer, p_limit - total);
    got := 0;
    if n > 0 then
      return query
      with cand as (
        select j.tenant_id, j.message_id from delivery_jobs j
        where j.tenant_id = b.tenant_id and j.channel_id = b.channel_id
          and j.run_at <= now() and (j.lease_until is null or j.lease_until < now())
          and not exists (select 1 from delivery_jobs o where o.tenant_id = j.tenant_id and o.channel_id = j.channel_id
                          and o.peer = j.peer and o.seq < j.seq)
        order by j.seq
        limit n
        for update of j skip locked
      )
      update delivery_jobs d set lease_owner = p_worker, lease_until = now() + make_interval(secs => p_lease_ms / 1000.0),
        attempts = d.attempts + 1
      from cand where d.tenant_id = cand.tenant_id and d.message_id = cand.message_id
      returning d.tenant_id, d.message_id, d.channel_id, d.attempts;
      get diagnostics got = row_count;
    end if;
    update delivery_buckets set tokens = avail - got, refilled_at = now(), last_claim_at = now()
      where delivery_buckets.tenant_id = b.tenant_id and delivery_buckets.channel_id = b.channel_id;
    total := total + got;
  end loop;
end $$;

-- Heartbeat: extends the leases this worker still holds; returns how many it renewed.
-- Lease heartbeats must never wait for (or deadlock with) a worker's own result transactions.
-- Seen at 20,000 messages / 3 workers: the heartbeat updated a worker's leased rows in one order
-- while its group-committed results deleted them in another → "deadlock detected". Now the
-- heartbeat skips rows that are locked (they are being finished right now) and result writes lock
-- their job rows first, in message-id order (src/delivery/process.ts).
create index delivery_jobs_lease_owner on delivery_jobs (lease_owner) where lease_owner is not null;

create function sb_renew_leases(p_worker text, p_ids text[], p_lease_ms integer)
returns integer
language sql volatile security definer set search_path = public as $$
  with mine as (
    select j.tenant_id, j.message_id from delivery_jobs j
    where j.lease_owner = p_worker and j.message_id = any(p_ids)
    order by j.tenant_id, j.message_id
    for update skip locked
  ), renewed as (
    update delivery_jobs d set lease_until = now() + make_interval(secs => p_lease_ms / 1000.0)
    from mine where d.tenant_id = mine.tenant_id and d.message_id = mine.message_id
    returning 1
  )
  select count(*)::int from renewed
$$;

-- Shutdown: hands this worker's unfinished jobs back at once instead of waiting for the lease.
create function sb_release_leases(p_worker text, p_ids text[]) returns void
language sql volatile security definer set search_path = public as $$
  update delivery_jobs set lease_owner = null, lease_until = null, attempts = greatest(0, attempts - 1)
  where lease_owner = p_worker and message_id = any(p_ids)
$$;

-- Superadmin usage across tenants (messages is not platform-readable).
create function sb_usage_all(p_from date, p_to date)
returns table (tenant_id text, day date, channel_id text, direction text, type text, outcome text, count bigint)
language sql stable security definer set search_path = public as $$
  select m.tenant_id, (m.created_at at time zone 'UTC')::date, m.channel_id, m.direction, m.type,
         case when m.status in ('queued', 'sending') then 'pending' else m.status end, count(*)
  from messages m
  where m.created_at >= p_from::timestamp at time zone 'UTC' and m.created_at < (p_to + 1)::timestamp at time zone 'UTC'
  group by 1, 2, 3, 4, 5, 6
  order by 1, 2, 3, 4, 5, 6
$$;
