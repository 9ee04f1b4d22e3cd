-- Single-message accept in one statement (decision 017). A single POST /v1/messages used ~12
-- round trips (begin, set_config, channel, limits, conversation, writes, commit); on 2 cores each
-- costs ~0.8 ms of socket work and waiting, so the accept ran at 4 % of pgbench. This function does
-- the same steps in the same order in ONE call, run as its own (autocommit) transaction.
--
-- SECURITY INVOKER on purpose: it runs as the app role, sets app.tenant_id itself (transaction-local,
-- ends with the statement), and every read and write goes through row-level security as before.

-- Same as bump() in src/delivery/quota.ts: add n to a counter, seeding a new period from the
-- messages already sent in it. Returns the new count.
create function sb_quota_bump(p_tenant text, p_scope text, p_period text, p_n integer) returns integer
language plpgsql volatile security invoker set search_path = public as $$
declare
  v_count integer;
  v_start date := case when left(p_period, 1) = 'd' then substr(p_period, 3)::date else (substr(p_period, 3) || '-01')::date end;
  v_end date := case when left(p_period, 1) = 'd' then v_start + 1 else (v_start + interval '1 month')::date end;
begin
  update quota_counters set count = count + p_n where tenant_id = p_tenant and scope = p_scope and period = p_period
    returning count into v_count;
  if found then return v_count; end if;
  insert into quota_counters (tenant_id, scope, period, count)
  values (p_tenant, p_scope, p_period, p_n + (
    select count(*)::int from messages
    where direction = 'out' and created_at >= v_start::timestamp at time zone 'UTC'
      and created_at < v_end::timestamp at time zone 'UTC'
      and (p_scope = 'tenant' or channel_id = p_scope)))
  on conflict (tenant_id, scope, period) do update set count = quota_counters.count + p_n
  returning count into v_count;
  return v_count;
end $$;

-- Outcome 'ok' (committed), 'not_found', 'disabled' or 'provider_changed' (nothing written: the
-- caller's cached provider is stale, it falls back to the full path). Over quota raises SQLSTATE
-- SB429 with message = window ('day', 'month', 'channel') and detail = the limit, which rolls the
-- counters back with everything else.
create function sb_accept_message(
  p_tenant text, p_channel text, p_provider text, p_peer text,
  p_message_id text, p_contact_id text, p_conversation_id text,
  p_type text, p_content jsonb, p_reply_to text, p_metadata jsonb,
  p_day text, p_month text
) returns table (outcome text, conversation_id text)
language plpgsql volatile security invoker set search_path = public as $$
declare
  v_ch record;
  v_lim record;
  v_contact text;
  v_conv text;
begin
  perform set_config('app.tenant_id', p_tenant, true);
  select c.provider, c.status, c.daily_limit into v_ch from channels c where c.tenant_id = p_tenant and c.id = p_channel;
  if not found then return query select 'not_found'::text, null::text; return; end if;
  if v_ch.status <> 'active' then return query select 'disabled'::text, null::text; return; end if;
  if v_ch.provider <> p_provider then return query select 'provider_changed'::text, null::text; return; end if;

  -- Effective limits (src/tenants/limits.ts): an override key present wins, even when null.
  select case when t.limits_override ? 'messages_per_day' then (t.limits_override->>'messages_per_day')::int else p.messages_per_day end as per_day,
         case when t.limits_override ? 'messages_per_month' then (t.limits_override->>'messages_per_month')::int else p.messages_per_month end as per_month
    into v_lim from tenants t join plans p on p.id = t.plan_id where t.id = p_tenant;
  if v_lim.per_day is not null and sb_quota_bump(p_tenant, 'tenant', p_day, 1) > v_lim.per_day then
    raise exception using errcode = 'SB429', message = 'day', detail = v_lim.per_day::text;
  end if;
  if v_lim.per_month is not null and sb_quota_bump(p_tenant, 'tenant', p_month, 1) > v_lim.per_month then
    raise exception using errcode = 'SB429', message = 'month', detail = v_lim.per_month::text;
  end if;
  if v_ch.daily_limit is not null and sb_quota_bump(p_tenant, p_channel, p_day, 1) > v_ch.daily_limit then
    raise exception using errcode = 'SB429', message = 'channel', detail = v_ch.daily_limit::text;
  end if;

  -- upsertConversation (src/messages/conversations.ts), same race handling: DO NOTHING waits for a
  -- concurrent inserter, and the re-read (new snapshot per statement) sees its row.
  select c.id, v.id into v_contact, v_conv
    from contacts c left join conversations v on v.tenant_id = c.tenant_id and v.channel_id = c.channel_id and v.contact_id = c.id
    where c.tenant_id = p_tenant and c.channel_id = p_channel and c.address = p_peer;
  if v_contact is null then
    insert into contacts (tenant_id, id, channel_id, address, profile_name, is_group)
      values (p_tenant, p_contact_id, p_channel, p_peer, null, p_peer like '%@g.us')
      on conflict (tenant_id, channel_id, address) do nothing;
    select c.id into v_contact from contacts c where c.tenant_id = p_tenant and c.channel_id = p_channel and c.address = p_peer;
  end if;
  if v_conv is null then
    insert into conversations (tenant_id, id, channel_id, contact_id)
      values (p_tenant, p_conversation_id, p_channel, v_contact)
      on conflict (tenant_id, channel_id, contact_id) do nothing;
    select v.id into v_conv from conversations v where v.tenant_id = p_tenant and v.channel_id = p_channel and v.contact_id = v_contact;
  end if;

  insert into messages (tenant_id, id, channel_id, conversation_id, direction, status, type, content, peer, reply_to, metadata)
    values (p_tenant, p_message_id, p_channel, v_conv, 'out', 'queued', p_type, p_content, p_peer, p_reply_to, p_metadata);
  insert into delivery_jobs (tenant_id, message_id, channel_id, peer) values (p_tenant, p_message_id, p_channel, p_peer);
  insert into delivery_buckets (tenant_id, channel_id) values (p_tenant, p_channel) on conflict do nothing;
  update conversations set last_message_at = now(), updated_at = now() where tenant_id = p_tenant and id = v_conv;
  return query select 'ok'::text, v_conv;
end $$;
