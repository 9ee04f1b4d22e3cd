-- Reference checks once per statement instead of once per row (decision 029).
--
-- The inbound path inserts rows in batches: an inbox group of ~10–500 webhooks, then contacts,
-- conversations, messages and events for ~130 messages per call. A foreign key checks every row on
-- its own — an SPI query locking the referenced channel (or tenant) row — and on the inbound bench
-- those checks were ~12 % of PostgreSQL's time while processing (perf), for a batch that names a
-- handful of channels. Here the same rule is kept per statement: an AFTER INSERT trigger with a
-- transition table locks each distinct referenced row once (FOR KEY SHARE, as the foreign key did)
-- and refuses the whole statement when one is missing (SQLSTATE 23503, as the foreign key did); the
-- cascade on delete is an AFTER DELETE trigger on the referenced table. Deleting a channel still
-- removes its contacts, conversations, messages and inbox rows, deleting a tenant still removes
-- its channels (foreign key, rarely written) and through them those rows, and its events
-- (test/foundation/channel-delete.test.ts).
--
-- Concurrency is the foreign key's: a delete of the channel that commits before the insert's check
-- makes the check fail; one that comes after waits for the inserting transaction (the key-share
-- lock) and its cascade then sees and removes the new rows.

create function sb_check_channel_refs() returns trigger
language plpgsql security definer set search_path = public as $$
declare
  v_missing record;
begin
  select a.tenant_id, a.channel_id into v_missing
    from (select distinct tenant_id, channel_id from added) a
    left join lateral (select 1 as ok from channels c where c.tenant_id = a.tenant_id and c.id = a.channel_id for key share) c on true
    where c.ok is null
    limit 1;
  if found then
    raise exception 'insert or update on table "%" violates the channel reference: channel % of tenant % does not exist',
      tg_table_name, v_missing.channel_id, v_missing.tenant_id using errcode = 'foreign_key_violation';
  end if;
  return null;
end $$;

create function sb_check_tenant_refs() returns trigger
language plpgsql security definer set search_path = public as $$
declare
  v_missing text;
begin
  select a.tenant_id into v_missing
    from (select distinct tenant_id from added) a
    left join lateral (select 1 as ok from tenants t where t.id = a.tenant_id for key share) t on true
    where t.ok is null
    limit 1;
  if found then
    raise exception 'insert on table "%" violates the tenant reference: tenant % does not exist', tg_table_name, v_missing
      using errcode = 'foreign_key_violation';
  end if;
  return null;
end $$;

create function sb_delete_channel_rows() returns trigger
language plpgsql security definer set search_path = public as $$
begin
  delete from inbox x using gone g where x.tenant_id = g.tenant_id and x.channel_id = g.id;
  delete from messages x using gone g where x.tenant_id = g.tenant_id and x.channel_id = g.id;
  delete from conversations x using gone g where x.tenant_id = g.tenant_id and x.channel_id = g.id;
  delete from contacts x using gone g where x.tenant_id = g.tenant_id and x.channel_id = g.id;
  return null;
end $$;

create function sb_delete_tenant_events() returns trigger
language plpgsql security definer set search_path = public as $$
begin
  delete from events x using gone g where x.tenant_id = g.id;
  return null;
end $$;

-- No channel or tenant id changes once written (no code updates them); should one ever change,
-- refuse it rather than leave a row pointing nowhere.
create function sb_refuse_reference_change() returns trigger
language plpgsql as $$
begin
  raise exception 'the tenant or channel of a row of "%" cannot change', tg_table_name using errcode = 'foreign_key_violation';
end $$;

-- The per-channel tables: their foreign key to channels becomes the statement-level check, and
-- their (tenant_id, channel_id) is fixed once written.
do $$
declare
  t text;
begin
  foreach t in array array['inbox', 'contacts', 'conversations', 'messages'] loop
    execute format('alter table %I drop constraint %I', t, t || '_tenant_id_channel_id_fkey');
    execute format('create trigger %I after insert on %I referencing new table as added
      for each statement execute function sb_check_channel_refs()', t || '_channel_ref', t);
    execute format('create trigger %I before update of tenant_id, channel_id on %I for each row
      when (old.tenant_id is distinct from new.tenant_id or old.channel_id is distinct from new.channel_id)
      execute function sb_refuse_reference_change()', t || '_ref_fixed', t);
  end loop;
end $$;

-- Events: the same for their tenant.
alter table events drop constraint events_tenant_id_fkey;
create trigger events_tenant_ref after insert on events referencing new table as added
  for each statement execute function sb_check_tenant_refs();
create trigger events_ref_fixed before update of tenant_id on events for each row
  when (old.tenant_id is distinct from new.tenant_id) execute function sb_refuse_reference_change();

create trigger channels_cascade after delete on channels referencing old table as gone
  for each statement execute function sb_delete_channel_rows();
create trigger tenants_cascade_events after delete on tenants referencing old table as gone
  for each statement execute function sb_delete_tenant_events();

-- Planner statistics on payload columns cost ANALYZE most of its time (detoasting and sorting
-- bodies and JSON documents: ~18 % of PostgreSQL's time while the inbound bench drained its
-- backlog, as tables doubled and the statistics worker re-analyzed them) and serve no query: none
-- filters or joins on them.
alter table inbox alter column body set statistics 0, alter column headers set statistics 0, alter column error set statistics 0;
alter table messages alter column content set statistics 0, alter column metadata set statistics 0, alter column error_detail set statistics 0;
alter table events alter column data set statistics 0;
