-- Planner statistics for young tables (decision 006). Autovacuum analyzes a table once it changed
-- by 10 % — but looks only once a minute (autovacuum_naptime), and plans made before the first
-- ANALYZE see no statistics: on the benches a fresh database delivered 430-700 msg/s for its first
-- minute and 4,700 right after an ANALYZE, because cached plans (plpgsql, foreign-key checks) read
-- whole index ranges. Switchboard's workers call this every few seconds: it analyzes any table with
-- at least p_min_rows changes that was never analyzed, or that changed by more than half since its
-- last analysis (so it fires during fast early growth and leaves steady state to autovacuum).
-- ANALYZE invalidates the cached plans of every session, which are then made again with statistics.
-- Runs as the owner (ANALYZE needs ownership); one caller at a time across processes.
create function sb_refresh_statistics(p_min_rows integer) returns text[]
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
    where s.schemaname = 'public' and s.n_mod_since_analyze >= p_min_rows
      and ((s.last_analyze is null and s.last_autoanalyze is null) or s.n_mod_since_analyze > 0.5 * greatest(c.reltuples, 0))
    order by s.n_mod_since_analyze desc
  loop
    execute format('analyze %I', r.relname);
    done := done || r.relname::text;
  end loop;
  return done;
end $$;
