-- sb_refresh_statistics (migration 007, decision 006) re-analyzes a table when its size changed by
-- half, not when half as many rows as it holds were written. The old rule counted every insert and
-- delete (n_mod_since_analyze), so a queue table whose rows come and go within a second — the inbox
-- at a steady 4,000 webhooks/s holds a few hundred rows — was analyzed every 5 s for churn that
-- changes no plan, and after a burst had left its file large, each ANALYZE read thousands of
-- mostly empty pages (5 s for one on the inbound bench, the machine's CPU and buffers taken from
-- the load it was serving). Now: a table never analyzed, once p_min_rows rows were written (as
-- before); otherwise when its live rows (n_live_tup, kept by every insert and delete) grew past 1.5×
-- or fell under half of what the last analysis counted (reltuples), by at least p_min_rows. Growing
-- tables are analyzed as before; a queue is analyzed when a backlog builds up or drains away.
create or replace function sb_refresh_statistics(p_min_rows integer) returns text[]
language plpgsql volatile security definer set search_path = public as $$
declare
  r record;
  done text[] := '{}';
begin
  if not pg_try_advisory_xact_lock(7201451302) then
    return done;
  end if;
  for r in
    select s.relname from pg_stat_user_tables s join pg_class c on c.oid = s.relid
    where s.schemaname = 'public'
      and case
        when (s.last_analyze is null and s.last_autoanalyze is null) or c.reltuples < 0 then s.n_mod_since_analyze >= p_min_rows
        else abs(s.n_live_tup - c.reltuples) >= p_min_rows and (s.n_live_tup > 1.5 * c.reltuples or s.n_live_tup < 0.5 * c.reltuples)
      end
    order by s.n_mod_since_analyze desc
  loop
    execute format('analyze %I', r.relname);
    done := done || r.relname::text;
  end loop;
  return done;
end $$;
