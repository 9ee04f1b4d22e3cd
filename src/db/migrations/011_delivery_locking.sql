-- Lease heartbeats must never wait for (or deadlock with) a worker's own result transactions.
-- Seen at 20,000 messages / 3 workers: the heartbeat updated a worker's leased rows in one order
-- while its group-committed results deleted them in another → "deadlock detected". Now the
-- heartbeat skips rows that are locked (they are being finished right now) and result writes lock
-- their job rows first, in message-id order (src/delivery/process.ts).
create index delivery_jobs_lease_owner on delivery_jobs (lease_owner) where lease_owner is not null;

drop function sb_renew_leases(text, text[], integer);
create function sb_renew_leases(p_worker text, p_ids text[], p_lease_ms integer)
returns integer
language sql volatile security definer set search_path = public as $$
  with mine as (
    select j.tenant_id, j.message_id from delivery_jobs j
    where j.lease_owner = p_worker and j.message_id = any(p_ids)
    order by j.tenant_id, j.message_id
    for update skip locked
  ), renewed as (
    update delivery_jobs d set lease_until = now() + make_interval(secs => p_lease_ms / 1000.0)
    from mine where d.tenant_id = mine.tenant_id and d.message_id = mine.message_id
    returning 1
  )
  select count(*)::int from renewed
$$;
