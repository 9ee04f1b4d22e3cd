-- sb_event_delivery_claim (migration 021) took the 2,000 earliest due deliveries of all tenants
-- first and applied its per-tenant cap after: a tenant with 2,000 due deliveries older than
-- everyone else's (a dead endpoint under steady traffic, a replay of all failed) filled the window,
-- the claim returned only that tenant's four, the process handed them back (the tenant already had
-- four in flight), and no other tenant's events went out until the backlog cleared (decision 046).
-- Now the cap applies per tenant before anything else: a skip scan finds each tenant with pending
-- deliveries through the new index, takes up to p_per_tenant of its due ones, and the earliest of
-- those fill the claim; tenants this process already runs at its cap are skipped (p_skip_tenants),
-- and so are suspended tenants.
create index event_deliveries_pending_by_tenant on event_deliveries (tenant_id, next_attempt_at) where status = 'pending';

drop function sb_event_delivery_claim(integer, integer, integer);

create function sb_event_delivery_claim(p_limit integer, p_per_tenant integer, p_lease_ms integer, p_skip_tenants text[] default '{}')
returns table (tenant_id text, id text)
language sql volatile security definer set search_path = public as $$
  with recursive tenants_pending(tenant_id) as (
    (select e.tenant_id from event_deliveries e where e.status = 'pending' order by e.tenant_id limit 1)
    union all
    select (select e.tenant_id from event_deliveries e where e.status = 'pending' and e.tenant_id > t.tenant_id order by e.tenant_id limit 1)
    from tenants_pending t where t.tenant_id is not null
  ), chosen as (
    select due.tenant_id, due.id
    from tenants_pending t
    cross join lateral (
      select x.tenant_id, x.id, x.next_attempt_at from event_deliveries x
      where x.tenant_id = t.tenant_id and x.status = 'pending' and x.next_attempt_at <= now()
        and (x.locked_until is null or x.locked_until < now())
      order by x.next_attempt_at limit p_per_tenant
    ) due
    where t.tenant_id is not null and not (t.tenant_id = any (p_skip_tenants))
      -- A suspended tenant's deliveries are held, as its outbound messages are (migration 010),
      -- and go out once it is reactivated.
      and exists (select 1 from tenants tn where tn.id = t.tenant_id and tn.status = 'active')
    order by due.next_attempt_at limit p_limit
  )
  update event_deliveries d set locked_until = now() + make_interval(secs => p_lease_ms / 1000.0)
  from chosen c
  where d.tenant_id = c.tenant_id and d.id = c.id and d.status = 'pending'
    and (d.locked_until is null or d.locked_until < now())
  returning d.tenant_id, d.id
$$;
