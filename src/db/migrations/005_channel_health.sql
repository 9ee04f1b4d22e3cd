-- The periodic health check walks active channels of every tenant, oldest check first.
create function sb_channels_due_health(p_older_than_seconds integer, p_limit integer)
returns table (tenant_id text, id text)
language sql stable security definer set search_path = public as $$
  select c.tenant_id, c.id from channels c
  where c.status = 'active'
    and coalesce((c.health->>'checked_at')::timestamptz, '-infinity') < now() - make_interval(secs => p_older_than_seconds)
  order by coalesce((c.health->>'checked_at')::timestamptz, '-infinity')
  limit p_limit
$$;
