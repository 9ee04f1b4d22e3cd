-- A revoke or an edit processed before the message it names (webhooks arrive out of order; two
-- processes or two inbox batches can take them in either order) updated nothing, and its dedupe key
-- was spent: the message was stored later with its original text and never marked. Such changes
-- are now parked here, like early_statuses, and applied by the statement that inserts the message —
-- whichever writer it is (the general path, sb_ingest_received). Decision 058.
create table early_message_changes (
  tenant_id            text not null references tenants(id) on delete cascade,
  channel_id           text not null,
  provider_message_id  text not null,
  kind                 text not null check (kind in ('revoked', 'edited')),
  text                 text,
  at                   timestamptz not null,
  created_at           timestamptz not null default now(),
  primary key (tenant_id, channel_id, provider_message_id, kind)
);
select sb_tenant_table('early_message_changes');
create index early_message_changes_created on early_message_changes (created_at);

-- One call per inserting statement; with nothing parked (the usual case) a single probe of an
-- empty table.
create function sb_apply_early_changes() returns trigger language plpgsql as $$
begin
  if not exists (select 1 from early_message_changes) then
    return null;
  end if;
  with hit as (
    delete from early_message_changes e using inserted n
    where e.tenant_id = n.tenant_id and e.channel_id = n.channel_id and e.provider_message_id = n.provider_message_id
    returning e.tenant_id, n.id as message_id, e.kind, e.text),
  per_message as (
    select tenant_id, message_id, max(text) filter (where kind = 'edited') as edited_text, jsonb_object_agg(kind, true) as flags
    from hit group by tenant_id, message_id)
  update messages m
  set content = case when p.edited_text is not null and m.content->>'type' = 'text' then jsonb_set(m.content, '{text}', to_jsonb(p.edited_text)) else m.content end,
      metadata = m.metadata || case when p.edited_text is not null and m.content->>'type' <> 'text' then p.flags - 'edited' else p.flags end,
      updated_at = now()
  from per_message p
  where m.tenant_id = p.tenant_id and m.id = p.message_id;
  return null;
end $$;

create trigger messages_apply_early_changes after insert on messages
  referencing new table as inserted
  for each statement execute function sb_apply_early_changes();

create or replace function sb_prune(p_batch integer) returns integer
language plpgsql volatile security definer set search_path = public as $$
declare
  n integer;
  total integer := 0;
begin
  delete from idempotency_keys where ctid in (
    select ctid from idempotency_keys where created_at < now() - interval '25 hours' limit p_batch);
  get diagnostics n = row_count; total := total + n;
  delete from inbound_dedupe where ctid in (
    select ctid from inbound_dedupe where at < now() - interval '8 days' limit p_batch);
  get diagnostics n = row_count; total := total + n;
  delete from inbound_rejects where ctid in (
    select ctid from inbound_rejects where at < now() - interval '30 days' limit p_batch);
  get diagnostics n = row_count; total := total + n;
  delete from early_statuses where ctid in (
    select ctid from early_statuses where created_at < now() - interval '24 hours' limit p_batch);
  get diagnostics n = row_count; total := total + n;
  -- A revoke or edit of a message that never came (or came more than a day apart) goes too.
  delete from early_message_changes where ctid in (
    select ctid from early_message_changes where created_at < now() - interval '24 hours' limit p_batch);
  get diagnostics n = row_count; total := total + n;
  return total;
end $$;
