-- SSE safety poll (src/events/stream.ts, Notifier): which tenants have events created in the last
-- p_window_ms, by this server's clock, with how many and a digest of their ids. The poll wakes a
-- tenant when that set changed. It replaces sb_event_tenants_since(p_since), which returned each
-- tenant's newest created_at after a point the caller moved forward to "newest seen − 2 s" across
-- all tenants: an event whose transaction started before a later-started one committed (of the
-- same tenant, or of a busier one that moved the point) changed nothing it returned, so while
-- LISTEN was down its streams were not woken. Tenant ids and figures only; each stream reads its
-- own events under RLS. sb_event_tenants_since stays for processes of the previous version.
create function sb_event_tenants_recent(p_window_ms integer)
returns table (tenant_id text, n bigint, digest bigint)
language sql stable security definer set search_path = public as $$
  select e.tenant_id, count(*), sum(hashtext(e.id)::bigint)
  from events e where e.created_at > now() - make_interval(secs => p_window_ms / 1000.0)
  group by e.tenant_id
$$;
