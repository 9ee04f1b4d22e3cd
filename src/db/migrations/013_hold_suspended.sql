-- A suspended tenant's queued messages are held, not sent: claims skip its channels until the
-- tenant is reactivated (they still fail at the maximum age like any undeliverable message).
-- Same function as 010 otherwise.
create or replace function sb_claim_jobs(p_worker text, p_limit integer, p_lease_ms integer, p_max_channels integer default 64)
returns table (tenant_id text, message_id text, channel_id text, attempts integer)
language plpgsql volatile security definer set search_path = public as $$
declare
  b record;
  cap double precision;
  avail double precision;
  n integer;
  got integer;
  total integer := 0;
begin
  for b in
    select k.tenant_id, k.channel_id, k.tokens, k.refilled_at, c.rate_per_second, c.burst
    from delivery_buckets k join channels c on c.tenant_id = k.tenant_id and c.id = k.channel_id
      join tenants t on t.id = k.tenant_id
    where k.paused_until <= now() and c.status = 'active' and t.status = 'active'
      and exists (select 1 from delivery_jobs j where j.tenant_id = k.tenant_id and j.channel_id = k.channel_id
                  and j.run_at <= now() and (j.lease_until is null or j.lease_until < now()))
    order by k.last_claim_at
    limit p_max_channels
    for update of k skip locked
  loop
    exit when total >= p_limit;
    cap := greatest(1, least(b.burst, ceil(b.rate_per_second * 0.1)));
    avail := least(cap, b.tokens + extract(epoch from (now() - b.refilled_at)) * (b.rate_per_second - cap + 1) / 1.15);
    n := least(floor(avail)::integer, p_limit - total);
    got := 0;
    if n > 0 then
      return query
      with cand as (
        select j.tenant_id, j.message_id from delivery_jobs j
        where j.tenant_id = b.tenant_id and j.channel_id = b.channel_id
          and j.run_at <= now() and (j.lease_until is null or j.lease_until < now())
          and not exists (select 1 from delivery_jobs o where o.tenant_id = j.tenant_id and o.channel_id = j.channel_id
                          and o.peer = j.peer and o.seq < j.seq)
        order by j.seq
        limit n
        for update of j skip locked
      )
      update delivery_jobs d set lease_owner = p_worker, lease_until = now() + make_interval(secs => p_lease_ms / 1000.0),
        attempts = d.attempts + 1
      from cand where d.tenant_id = cand.tenant_id and d.message_id = cand.message_id
      returning d.tenant_id, d.message_id, d.channel_id, d.attempts;
      get diagnostics got = row_count;
    end if;
    update delivery_buckets set tokens = avail - got, refilled_at = now(), last_claim_at = now()
      where delivery_buckets.tenant_id = b.tenant_id and delivery_buckets.channel_id = b.channel_id;
    total := total + got;
  end loop;
end $$;
