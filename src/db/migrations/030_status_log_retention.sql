-- Retention for message_status_log (migration 010): one row per outbound status change (sent,
-- delivered, read, failed…), ~3 per message, kept for good and read by nothing since the
-- message.status events (decision 032's window) carry the same changes. It now follows the event
-- log: rows older than EVENTS_RETENTION_DAYS go in the retention sweep.
-- A BRIN index on `at` (rows arrive in time order; a few pages of index for millions of rows, next
-- to no cost per insert) lets the sweep find the old ones without reading the table.
create index message_status_log_at on message_status_log using brin (at);

-- At most p_batch rows, across tenants (as the owner); returns rows deleted.
create function sb_prune_status_log(p_before timestamptz, p_batch integer) returns integer
language plpgsql volatile security definer set search_path = public as $$
declare
  n integer;
begin
  delete from message_status_log where ctid in (select ctid from message_status_log where at < p_before limit p_batch);
  get diagnostics n = row_count;
  return n;
end $$;
