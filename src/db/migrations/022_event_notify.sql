-- Wake Server-Sent Event streams in every Switchboard process the moment events commit: one
-- NOTIFY per tenant per inserting statement (PostgreSQL also folds identical notifications within a
-- transaction). The payload is the tenant id only; streams read the events themselves under RLS.
create function sb_notify_events() returns trigger language plpgsql as $$
begin
  perform pg_notify('sb_events', t.tenant_id) from (select distinct tenant_id from inserted) t;
  return null;
end $$;

create trigger events_notify after insert on events
  referencing new table as inserted
  for each statement execute function sb_notify_events();
