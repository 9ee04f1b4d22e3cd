-- A new period's quota counter was seeded from every outbound row of the period, messages typed on
-- the line's phone (WAHA/UltraMsg echoes, Cloud API coexistence echoes) included; once the counter
-- existed only API accepts raised it. The same traffic gave different answers by order, and a
-- limit change (which drops counters, migration 045) recounted the phone's messages. The quota is
-- on what Switchboard sends: the seed now leaves out echo rows — outbound, never attempted, no
-- delivery job, carrying a provider id (the rule the worker's echo merge uses; decision 013, amended).
create or replace function sb_quota_bump(p_tenant text, p_scope text, p_period text, p_n integer) returns integer
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
    select count(*)::int from messages m
    where m.direction = 'out' and m.created_at >= v_start::timestamp at time zone 'UTC'
      and m.created_at < v_end::timestamp at time zone 'UTC'
      and (p_scope = 'tenant' or m.channel_id = p_scope)
      and not (m.provider_message_id is not null and m.attempts = 0
               and not exists (select 1 from delivery_jobs j where j.tenant_id = m.tenant_id and j.message_id = m.id))) + (
    select coalesce(sum(r.count), 0)::int from usage_retired r
    where p_scope = 'tenant' and r.direction = 'out' and r.day >= v_start and r.day < v_end))
  on conflict (tenant_id, scope, period) do update set count = quota_counters.count + p_n
  returning count into v_count;
  return v_count;
end $$;
