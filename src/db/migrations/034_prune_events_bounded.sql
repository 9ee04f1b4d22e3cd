-- sb_prune_events (migration 028) deleted up to p_batch events for every tenant in one call: with a
-- thousand tenants past their window (the first sweep after a deployment lowers
-- EVENTS_RETENTION_DAYS, say) one transaction could delete millions of events with their deliveries
-- and attempts, holding their locks and writing its WAL in one burst. Now a call deletes at most
-- p_batch events in all, tenant after tenant in id order; the sweep repeats calls while one finds
-- p_batch (src/ops/prune.ts), so every tenant is still reached in the same sweep.
create or replace function sb_prune_events(p_before_id text, p_batch integer) returns integer
language plpgsql volatile security definer set search_path = public as $$
declare
  t record;
  n integer;
  total integer := 0;
begin
  for t in select id from tenants order by id loop
    exit when total >= p_batch;
    delete from events e where e.tenant_id = t.id and e.id in (
      select x.id from events x
      where x.tenant_id = t.id and x.id < p_before_id
        and not exists (select 1 from event_deliveries d where d.tenant_id = x.tenant_id and d.event_id = x.id and d.status = 'pending')
      order by x.id limit p_batch - total);
    get diagnostics n = row_count;
    total := total + n;
  end loop;
  return total;
end $$;
