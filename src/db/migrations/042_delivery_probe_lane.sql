-- Deliveries to a failing endpoint get a lane of their own (decision 052). Until now every due
-- delivery competed for the same slots: a tenant's dead endpoint (each request waiting out the 10 s
-- timeout) held all four of that tenant's slots, so its healthy endpoints waited too, and eight
-- tenants with a dead endpoint each held all 32 of a process's slots, so a ninth tenant's events
-- waited behind them.
--
-- Now an endpoint whose last attempt failed (failing_since set, still enabled) is probed: at most one
-- of its deliveries is claimed at a time by a process (the process passes the endpoints it is
-- probing), from a separate budget (p_probe_limit, at most p_per_tenant a tenant in one claim). The
-- budget goes round the failing endpoints (probed_at, the last time one was claimed): by the oldest
-- due row, 32 long-dead endpoints would take every probe again as each timed out, and an endpoint
-- that failed once would wait behind their backlogs. The first success clears failing_since and the
-- endpoint is back in the main lane. Deliveries to healthy or disabled
-- endpoints (a disabled one's are marked failed without a request) keep the main lane and its
-- per-tenant cap (migration 036). Each endpoint's due rows are read through a new index, so a
-- backlog of one endpoint is never scanned to find another's.
alter table webhook_endpoints add column probed_at timestamptz;
create index event_deliveries_pending_by_endpoint on event_deliveries (tenant_id, endpoint_id, next_attempt_at) where status = 'pending';

-- sb_event_delivery_claim (migration 036) stays for processes of the previous version during a
-- rolling upgrade.
-- p_busy_tenants / p_busy_counts: the main-lane requests this process has in flight per tenant;
-- p_probe_tenants / p_probe_counts: its probes per tenant; p_probing: the endpoints it is probing.
-- Each tenant gets only the room it has left, so nothing claimed has to be handed back.
create function sb_event_delivery_claim_lanes(p_limit integer, p_per_tenant integer, p_lease_ms integer,
                                              p_busy_tenants text[], p_busy_counts integer[],
                                              p_probe_limit integer, p_probing text[], p_probe_tenants text[], p_probe_counts integer[])
returns table (tenant_id text, id text, endpoint_id text, probe boolean)
language sql volatile security definer set search_path = public as $$
  with recursive tenants_pending(tenant_id) as (
    (select e.tenant_id from event_deliveries e where e.status = 'pending' order by e.tenant_id limit 1)
    union all
    select (select e.tenant_id from event_deliveries e where e.status = 'pending' and e.tenant_id > t.tenant_id order by e.tenant_id limit 1)
    from tenants_pending t where t.tenant_id is not null
  ), due as (
    select t.tenant_id, w.id as endpoint_id, (w.status = 'enabled' and w.failing_since is not null) as probe, w.probed_at, x.id, x.next_attempt_at
    from tenants_pending t
    -- A suspended tenant's deliveries are held (migration 036).
    join tenants tn on tn.id = t.tenant_id and tn.status = 'active'
    join webhook_endpoints w on w.tenant_id = t.tenant_id
    cross join lateral (
      select x.id, x.next_attempt_at from event_deliveries x
      where x.tenant_id = t.tenant_id and x.endpoint_id = w.id and x.status = 'pending' and x.next_attempt_at <= now()
        and (x.locked_until is null or x.locked_until < now())
      order by x.next_attempt_at
      limit case when w.status = 'enabled' and w.failing_since is not null then 1 else p_per_tenant end
    ) x
  ), main as (
    select r.tenant_id, r.id, r.endpoint_id, false as probe from (
      select d.*, row_number() over (partition by d.tenant_id order by d.next_attempt_at) as rn
      from due d where not d.probe
    ) r where r.rn <= p_per_tenant - coalesce((select b.n from unnest(p_busy_tenants, p_busy_counts) as b(t, n) where b.t = r.tenant_id), 0)
    order by r.next_attempt_at limit p_limit
  ), probes as (
    -- Round the failing endpoints: the one probed longest ago (or never) first.
    select r.tenant_id, r.id, r.endpoint_id, true as probe from (
      select d.*, row_number() over (partition by d.tenant_id order by d.probed_at nulls first, d.next_attempt_at) as rn
      from due d where d.probe and not (d.endpoint_id = any (p_probing))
    ) r where r.rn <= p_per_tenant - coalesce((select b.n from unnest(p_probe_tenants, p_probe_counts) as b(t, n) where b.t = r.tenant_id), 0)
    order by r.probed_at nulls first, r.next_attempt_at limit p_probe_limit
  ), chosen as (
    select * from main union all select * from probes
  ), claimed as (
    update event_deliveries d set locked_until = now() + make_interval(secs => p_lease_ms / 1000.0)
    from chosen c
    where d.tenant_id = c.tenant_id and d.id = c.id and d.status = 'pending'
      and (d.locked_until is null or d.locked_until < now())
    returning d.tenant_id, d.id, c.endpoint_id, c.probe
  ), stamped as (
    update webhook_endpoints w set probed_at = now() from claimed c
    where c.probe and w.tenant_id = c.tenant_id and w.id = c.endpoint_id
  )
  select * from claimed
$$;
