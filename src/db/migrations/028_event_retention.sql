-- Retention for the tenant event log (decision 032). Events, their deliveries and the deliveries'
-- attempts grew without end: at 4,000 inbound messages a second the events table alone gains
-- 14 million rows an hour. An event older than the retention window is deleted with its
-- deliveries and their attempts (foreign keys, on delete cascade) unless one of its deliveries is
-- still pending: a delivery in its retry schedule (~27 h) or held by a stopped scheduler keeps its
-- event.
-- Ids are ULIDs whose first ten characters are the creation time, so "older than" is an id range
-- on the primary key: the caller passes the first id of the cutoff millisecond.

-- The cascade from events finds their deliveries by event (there was no index for it).
create index event_deliveries_event on event_deliveries (tenant_id, event_id);

-- At most p_batch events per tenant per call, oldest first; returns events deleted (migration 034
-- bounds the call to p_batch in all).
create function sb_prune_events(p_before_id text, p_batch integer) returns integer
language plpgsql volatile security definer set search_path = public as $$
declare
  t record;
  n integer;
  total integer := 0;
begin
  for t in select id from tenants loop
    delete from events e where e.tenant_id = t.id and e.id in (
      select x.id from events x
      where x.tenant_id = t.id and x.id < p_before_id
        and not exists (select 1 from event_deliveries d where d.tenant_id = x.tenant_id and d.event_id = x.id and d.status = 'pending')
      order by x.id limit p_batch);
    get diagnostics n = row_count;
    total := total + n;
  end loop;
  return total;
end $$;
