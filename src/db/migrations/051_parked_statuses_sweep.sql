-- A receipt parked (early_statuses) while its message was being given its provider id by a
-- transaction it could not see yet — the worker recording the send result, or the inbound path
-- storing the echo of a message sent from the phone — and that transaction's own look at the parked
-- receipts not seeing it either (both uncommitted, READ COMMITTED): the receipt stayed parked until
-- its 24 hours ran out and the message never left `sent`. The retention sweep now finds such
-- receipts and applies them (src/ops/prune.ts) with the one monotonic rule, which lives in
-- TypeScript (src/messages/status.ts) — so this function only finds them, across tenants.
create function sb_parked_statuses_found(p_limit integer)
returns table (tenant_id text, channel_id text, provider_message_id text)
language sql stable security definer set search_path = public as $$
  -- Not the oldest p_limit parked rows first: receipts of messages sent by another system on the
  -- same number are parked for a day and never match, and would hide the ones that do.
  select distinct e.tenant_id, e.channel_id, e.provider_message_id
  from early_statuses e
  where exists (select 1 from messages m
                where m.tenant_id = e.tenant_id and m.channel_id = e.channel_id
                  and m.provider_message_id = e.provider_message_id and m.direction = 'out')
  limit p_limit
$$;
