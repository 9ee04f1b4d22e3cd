-- sb_prune_events (migration 034) began every call at the first tenant: a sweep that needs many
-- calls (one tenant with millions of expired events, say) re-probed every tenant before it on each
-- call, so a sweep over T tenants in C calls cost T × C index probes. A call now starts at
-- p_from_tenant (inclusive: the tenant the last call stopped in may have more) and says where it
-- stopped; the sweep (src/ops/prune.ts) passes that to the next call, so each tenant is probed
-- about once a sweep.
drop function sb_prune_events(text, integer);

create function sb_prune_events(p_before_id text, p_batch integer, p_from_tenant text default '')
returns table (deleted integer, stopped_at text)
language plpgsql volatile security definer set search_path = public as $$
declare
  t record;
  n integer;
  total integer := 0;
  last_tenant text := p_from_tenant;
begin
  for t in select id from tenants where id >= p_from_tenant order by id loop
    exit when total >= p_batch;
    last_tenant := t.id;
    delete from events e where e.tenant_id = t.id and e.id in (
      select x.id from events x
      where x.tenant_id = t.id and x.id < p_before_id
        and not exists (select 1 from event_deliveries d where d.tenant_id = x.tenant_id and d.event_id = x.id and d.status = 'pending')
      order by x.id limit p_batch - total);
    get diagnostics n = row_count;
    total := total + n;
  end loop;
  return query select total, last_tenant;
end $$;
