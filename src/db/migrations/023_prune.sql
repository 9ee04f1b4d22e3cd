-- Retention for bookkeeping tables that otherwise only grow. Runs as the owner across tenants,
-- in bounded batches so one call never holds locks for long. Returns rows deleted.
--  * idempotency_keys: kept 24 h (Stripe's window) + 1 h slack; expired keys are also replaced on reuse.
--  * inbound_dedupe: kept 8 days, longer than Meta's documented retry period (up to 7 days), so a
--    late redelivery is still recognised.
--  * inbound_rejects: kept 30 days (diagnostics only; no bodies).
create function sb_prune(p_batch integer) returns integer
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
  return total;
end $$;
