-- A revoke or edit parked (migration 047) while its message was being inserted by a transaction it
-- could not see yet, and that insert's trigger not seeing the parked row either (both uncommitted,
-- READ COMMITTED): the change stayed parked and the message unmarked (review of 2026-12-01). The
-- retention sweep (every 10 minutes) now also applies parked changes whose message exists. One
-- function applies them for both, the trigger and the sweep.

-- Applies and deletes the changes parked for these messages (tenant, channel, provider id → our id).
create function sb_apply_parked(p_tenant text[], p_channel text[], p_pmid text[], p_message text[]) returns integer
language plpgsql volatile security definer set search_path = public as $$
declare
  n integer;
begin
  with hit as (
    delete from early_message_changes e using unnest(p_tenant, p_channel, p_pmid, p_message) as x(t, c, p, m)
    where e.tenant_id = x.t and e.channel_id = x.c and e.provider_message_id = x.p
    returning e.tenant_id, x.m as message_id, e.kind, e.text),
  per_message as (
    select tenant_id, message_id, max(text) filter (where kind = 'edited') as edited_text, jsonb_object_agg(kind, true) as flags
    from hit group by tenant_id, message_id)
  update messages m
  set content = case when p.edited_text is not null and m.content->>'type' = 'text' then jsonb_set(m.content, '{text}', to_jsonb(p.edited_text)) else m.content end,
      metadata = m.metadata || case when p.edited_text is not null and m.content->>'type' <> 'text' then p.flags - 'edited' else p.flags end,
      updated_at = now()
  from per_message p
  where m.tenant_id = p.tenant_id and m.id = p.message_id;
  get diagnostics n = row_count;
  return n;
end $$;

create or replace function sb_apply_early_changes() returns trigger language plpgsql as $$
begin
  if not exists (select 1 from early_message_changes) then
    return null;
  end if;
  perform sb_apply_parked(array_agg(tenant_id), array_agg(channel_id), array_agg(provider_message_id), array_agg(id))
  from inserted where provider_message_id is not null;
  return null;
end $$;

-- The sweep: parked changes whose message exists by now, oldest first.
create function sb_apply_parked_changes(p_limit integer) returns integer
language sql volatile security definer set search_path = public as $$
  select coalesce(sb_apply_parked(array_agg(e.tenant_id), array_agg(e.channel_id), array_agg(e.provider_message_id), array_agg(m.id)), 0)
  from (select tenant_id, channel_id, provider_message_id from early_message_changes order by created_at limit p_limit) e
  join messages m on m.tenant_id = e.tenant_id and m.channel_id = e.channel_id and m.provider_message_id = e.provider_message_id
$$;
