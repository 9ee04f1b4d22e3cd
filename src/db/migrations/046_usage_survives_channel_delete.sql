-- Usage is computed from the messages themselves (decision 013), and deleting a channel deletes its
-- messages (migration 026): a tenant could send a month's traffic, delete the line, and both
-- /v1/usage and /admin/usage showed nothing — and a quota counter seeded afterwards forgot them too.
-- Now a channel's messages are counted into usage_retired (same keys as the usage report) in the
-- statement that deletes them; the reports and the quota seeding add those counts.
create table usage_retired (
  tenant_id   text not null references tenants(id) on delete cascade,
  day         date not null,
  channel_id  text not null,
  direction   text not null,
  type        text not null,
  outcome     text not null,
  count       integer not null,
  primary key (tenant_id, day, channel_id, direction, type, outcome)
);
select sb_tenant_table('usage_retired');

create or replace function sb_delete_channel_rows() returns trigger
language plpgsql security definer set search_path = public as $$
begin
  delete from inbox x using gone g where x.tenant_id = g.tenant_id and x.channel_id = g.id;
  insert into usage_retired (tenant_id, day, channel_id, direction, type, outcome, count)
    select m.tenant_id, (m.created_at at time zone 'UTC')::date, m.channel_id, m.direction, m.type,
           case when m.status in ('queued', 'sending') then 'pending' else m.status end, count(*)::int
    from messages m join gone g on m.tenant_id = g.tenant_id and m.channel_id = g.id
    -- A channel deleted with its tenant takes its usage along (the tenant is gone: nothing to bill).
    where exists (select 1 from tenants t where t.id = g.tenant_id)
    group by 1, 2, 3, 4, 5, 6
    on conflict (tenant_id, day, channel_id, direction, type, outcome) do update set count = usage_retired.count + excluded.count;
  delete from messages x using gone g where x.tenant_id = g.tenant_id and x.channel_id = g.id;
  delete from conversations x using gone g where x.tenant_id = g.tenant_id and x.channel_id = g.id;
  delete from contacts x using gone g where x.tenant_id = g.tenant_id and x.channel_id = g.id;
  return null;
end $$;

create or replace function sb_usage_all(p_from date, p_to date)
returns table (tenant_id text, day date, channel_id text, direction text, type text, outcome text, count bigint)
language sql stable security definer set search_path = public as $$
  select u.tenant_id, u.day, u.channel_id, u.direction, u.type, u.outcome, sum(u.n)::bigint
  from (
    select m.tenant_id, (m.created_at at time zone 'UTC')::date as day, m.channel_id, m.direction, m.type,
           case when m.status in ('queued', 'sending') then 'pending' else m.status end as outcome, 1 as n
    from messages m
    where m.created_at >= p_from::timestamp at time zone 'UTC' and m.created_at < (p_to + 1)::timestamp at time zone 'UTC'
    union all
    select r.tenant_id, r.day, r.channel_id, r.direction, r.type, r.outcome, r.count
    from usage_retired r where r.day between p_from and p_to
  ) u
  group by 1, 2, 3, 4, 5, 6
  order by 1, 2, 3, 4, 5, 6
$$;

-- A new period's counter is seeded from the messages sent in it, and now from the retired counts of
-- deleted channels too (tenant scope; a deleted channel has no counters of its own).
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
    select count(*)::int from messages
    where direction = 'out' and created_at >= v_start::timestamp at time zone 'UTC'
      and created_at < v_end::timestamp at time zone 'UTC'
      and (p_scope = 'tenant' or channel_id = p_scope)) + (
    select coalesce(sum(r.count), 0)::int from usage_retired r
    where p_scope = 'tenant' and r.direction = 'out' and r.day >= v_start and r.day < v_end))
  on conflict (tenant_id, scope, period) do update set count = quota_counters.count + p_n
  returning count into v_count;
  return v_count;
end $$;
