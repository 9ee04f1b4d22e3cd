-- Group commit for single accepts (decision 018). Concurrent POST /v1/messages requests of one
-- tenant are written together: ONE call (its own autocommit transaction, so every 202 still follows
-- the commit of its row) with one outcome per row. sb_accept_message (012) did one message per call
-- and transaction; PostgreSQL alone ran it at 3,840 calls/s on the 2-core VM while pgbench ran the
-- bare two-row insert at 9,800 tps. This function, 32 rows a call, ran at ~11,600 rows/s.
--
-- Same rules, same order as sb_accept_message and the TypeScript full path (src/messages/accept.ts):
-- channel (not_found / disabled / provider_changed per row, nothing written for those rows), quotas
-- over every accepted row (over quota raises SB429 for the whole call: the caller retries the rows
-- one call each, so each request gets its own exact answer), contacts and conversations (race-safe:
-- DO NOTHING waits for a concurrent inserter and the next statement sees its row), then messages and
-- jobs in request order, buckets, conversation touch. SECURITY INVOKER: RLS applies throughout.
drop function sb_accept_message(text, text, text, text, text, text, text, text, jsonb, text, jsonb, text, text);

-- Fewer index entries and foreign-key probes per accepted message (perf profile of this function:
-- ~25 btree operations per message, most of its time):
--  * messages_lane was used by no query (order per recipient is enforced on delivery_jobs).
--  * The tenant foreign keys of contacts, conversations, messages and delivery_jobs are implied by
--    their composite keys to channels / messages, which reference tenants with ON DELETE CASCADE,
--    so deleting a tenant still cascades to every row, through its channels.
drop index messages_lane;
alter table contacts drop constraint contacts_tenant_id_fkey;
alter table conversations drop constraint conversations_tenant_id_fkey;
alter table messages drop constraint messages_tenant_id_fkey;
alter table delivery_jobs drop constraint delivery_jobs_tenant_id_fkey;

create function sb_accept_messages(
  p_tenant text, p_ids text[], p_channels text[], p_providers text[], p_peers text[],
  p_contact_ids text[], p_conversation_ids text[], p_types text[], p_contents jsonb[], p_reply_to text[], p_metadata jsonb[],
  p_day text, p_month text
) returns table (ord integer, outcome text, conversation_id text)
language plpgsql volatile security invoker set search_path = public set plan_cache_mode = force_generic_plan as $$
declare
  v_out text[];
  v_daily integer[];
  v_conv text[];
  v_new text[] := '{}';
  v_touch text[];
  v_ok integer;
  v_lim record;
  r record;
begin
  -- Every lookup below is a LATERAL ... LIMIT 1 probe of one unique index with its whole key bound,
  -- one table at a time. plpgsql keeps one generic plan per statement for the life of the
  -- connection; given a join to reorder on a young database (no statistics), the planner drove it
  -- from conversations by (tenant, channel), reading every conversation of the channel per row, and
  -- kept that plan as the table grew (50 ms per call after 2,000 messages).
  perform set_config('app.tenant_id', p_tenant, true);
  select array_agg(case when c.status is null then 'not_found' when c.status <> 'active' then 'disabled'
                        when c.provider <> x.pv then 'provider_changed' else 'ok' end order by x.o),
         array_agg(c.daily_limit order by x.o)
    into v_out, v_daily
    from unnest(p_channels, p_providers) with ordinality as x(ch, pv, o)
    left join lateral (select c.status, c.provider, c.daily_limit from channels c where c.tenant_id = p_tenant and c.id = x.ch limit 1) c on true;
  v_ok := cardinality(array_positions(v_out, 'ok'));
  if v_ok > 0 then
    -- Effective limits (src/tenants/limits.ts): an override key present wins, even when null.
    select case when t.limits_override ? 'messages_per_day' then (t.limits_override->>'messages_per_day')::int else p.messages_per_day end as per_day,
           case when t.limits_override ? 'messages_per_month' then (t.limits_override->>'messages_per_month')::int else p.messages_per_month end as per_month
      into v_lim from tenants t join plans p on p.id = t.plan_id where t.id = p_tenant;
    if v_lim.per_day is not null and sb_quota_bump(p_tenant, 'tenant', p_day, v_ok) > v_lim.per_day then
      raise exception using errcode = 'SB429', message = 'day', detail = v_lim.per_day::text;
    end if;
    if v_lim.per_month is not null and sb_quota_bump(p_tenant, 'tenant', p_month, v_ok) > v_lim.per_month then
      raise exception using errcode = 'SB429', message = 'month', detail = v_lim.per_month::text;
    end if;
    for r in select x.ch, count(*)::int as n, min(x.dl) as daily_limit from unnest(p_channels, v_out, v_daily) as x(ch, oc, dl)
             where x.oc = 'ok' and x.dl is not null group by x.ch order by x.ch loop
      if sb_quota_bump(p_tenant, r.ch, p_day, r.n) > r.daily_limit then
        raise exception using errcode = 'SB429', message = 'channel', detail = r.daily_limit::text, hint = r.ch;
      end if;
    end loop;

    -- Conversations: look up first (the common case: an existing conversation, two probes).
    v_conv := sb_accept_conversations(p_tenant, p_channels, p_peers, v_out);
    if exists (select 1 from unnest(v_out, v_conv) as x(oc, cv) where x.oc = 'ok' and x.cv is null) then
      -- New contacts and conversations, sorted: two concurrent calls creating the same ones wait
      -- for each other in one order instead of deadlocking; DO NOTHING waits for a concurrent
      -- inserter and the lookup after it (a new snapshot) sees its row.
      insert into contacts (tenant_id, id, channel_id, address, profile_name, is_group)
        select distinct on (x.ch, x.pe) p_tenant, x.ci, x.ch, x.pe, null, x.pe like '%@g.us'
        from unnest(p_channels, p_peers, p_contact_ids, v_out, v_conv) as x(ch, pe, ci, oc, cv)
        where x.oc = 'ok' and x.cv is null
        order by x.ch, x.pe
        on conflict (tenant_id, channel_id, address) do nothing;
      -- A new conversation starts with this message's time: no update of it below.
      with ins as (
        insert into conversations (tenant_id, id, channel_id, contact_id, last_message_at)
          select distinct on (x.ch, k.id) p_tenant, x.vi, x.ch, k.id, now()
          from unnest(p_channels, p_peers, p_conversation_ids, v_out, v_conv) as x(ch, pe, vi, oc, cv)
          cross join lateral (select k.id from contacts k where k.tenant_id = p_tenant and k.channel_id = x.ch and k.address = x.pe limit 1) k
          where x.oc = 'ok' and x.cv is null
          order by x.ch, k.id
          on conflict (tenant_id, channel_id, contact_id) do nothing
          returning id)
      select coalesce(array_agg(id), '{}') into v_new from ins;
      v_conv := sb_accept_conversations(p_tenant, p_channels, p_peers, v_out);
    end if;

    with x as (
      select * from unnest(p_ids, p_channels, v_conv, p_types, p_contents, p_peers, p_reply_to, p_metadata, v_out) with ordinality
        as x(id, ch, cv, ty, co, pe, rt, md, oc, o)
      where x.oc = 'ok'),
    m as (insert into messages (tenant_id, id, channel_id, conversation_id, direction, status, type, content, peer, reply_to, metadata)
          select p_tenant, x.id, x.ch, x.cv, 'out', 'queued', x.ty, x.co, x.pe, x.rt, x.md from x order by x.o),
    j as (insert into delivery_jobs (tenant_id, message_id, channel_id, peer) select p_tenant, x.id, x.ch, x.pe from x order by x.o)
    insert into delivery_buckets (tenant_id, channel_id) select distinct p_tenant, x.ch from x order by 2 on conflict do nothing;
    -- Touch the existing conversations, locked in id order (concurrent calls of one tenant share
    -- conversations; other orders would deadlock). Dynamic SQL is planned with this call's ids, so
    -- it cannot inherit a plan made when the table was empty (see above).
    select array_agg(distinct u.id order by u.id) into v_touch from unnest(v_conv) as u(id)
      where u.id is not null and u.id <> all(v_new);
    if v_touch is not null then
      execute 'update conversations v set last_message_at = now(), updated_at = now()
               from (select c.tenant_id, c.id from conversations c where c.tenant_id = $1 and c.id = any($2) order by c.id for no key update) s
               where v.tenant_id = s.tenant_id and v.id = s.id' using p_tenant, v_touch;
    end if;
  end if;
  return query select x.o::integer, x.oc, x.cv from unnest(v_out, v_conv) with ordinality as x(oc, cv, o);
end $$;

-- The conversation of each 'ok' row (null when it does not exist yet): contact by its unique
-- (tenant, channel, address), then conversation by its unique (tenant, channel, contact).
create function sb_accept_conversations(p_tenant text, p_channels text[], p_peers text[], p_out text[]) returns text[]
language sql stable security invoker set search_path = public as $$
  select array_agg(v.id order by x.o)
  from unnest(p_channels, p_peers, p_out) with ordinality as x(ch, pe, oc, o)
  left join lateral (select k.id from contacts k where x.oc = 'ok' and k.tenant_id = p_tenant and k.channel_id = x.ch and k.address = x.pe limit 1) k on true
  left join lateral (select v.id from conversations v where v.tenant_id = p_tenant and v.channel_id = x.ch and v.contact_id = k.id limit 1) v on true
$$;

-- delivery_jobs churns like a queue (a row per message, deleted when sent): vacuum it early, so
-- claims do not walk dead index entries at the head of every channel.
alter table delivery_jobs set (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000);
