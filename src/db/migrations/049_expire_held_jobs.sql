-- Messages of a disabled channel or a suspended tenant are held: the claim skips them (migration
-- 010), and the maximum age was checked only when a job was claimed — so held messages stayed
-- `queued` for ever instead of failing as `expired` like every message that cannot be delivered
-- (review of 2026-12-01). The scheduler asks for unleased jobs past the age with this (ids only, the
-- one cross-tenant step) and fails each in its tenant's transaction.
create function sb_jobs_past_age(p_max_age_ms bigint, p_limit integer)
returns table (tenant_id text, message_id text, channel_id text)
language sql stable security definer set search_path = public as $$
  select j.tenant_id, j.message_id, j.channel_id from delivery_jobs j
  where j.created_at < now() - make_interval(secs => p_max_age_ms / 1000.0)
    and (j.lease_until is null or j.lease_until < now())
  order by j.tenant_id
  limit p_limit
$$;
