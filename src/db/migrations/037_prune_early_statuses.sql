-- early_statuses (migration 010) holds a provider status that arrived before the send's provider
-- id was recorded, until the worker records the id. A status for a message Switchboard never sent
-- (a WAHA ack of a message typed on the phone, say) matched nothing and stayed for ever. Such rows
-- now go after 24 hours: a send's id is recorded seconds after the provider accepts it, and well
-- within a day even when a worker crashed and its lease (60 s) ran out first.
create index early_statuses_created on early_statuses (created_at);

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
  return total;
end $$;
