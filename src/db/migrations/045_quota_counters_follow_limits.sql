-- Quota counters are written only while a limit applies, and seeded from `messages` when a period's
-- row is first made (decision 013: "a limit added mid-month counts the month"). A limit removed and
-- set again found the old row and added to it: the messages sent while there was no limit were
-- never counted (a daily limit of 5: 2 sent, limit removed, 10 sent, limit back, 3 more accepted).
-- Now any change to what a counter measures against drops that scope's counters, and the next send
-- seeds them again from the messages themselves. Security definer: a plan's change reaches every
-- tenant on it, whatever tenant the changing transaction acts as.
create function sb_quota_forget() returns trigger
language plpgsql security definer set search_path = public as $$
begin
  if tg_table_name = 'tenants' then
    delete from quota_counters where tenant_id = new.id and scope = 'tenant';
  elsif tg_table_name = 'plans' then
    delete from quota_counters q using tenants t where t.plan_id = new.id and q.tenant_id = t.id and q.scope = 'tenant';
  else -- channels: the line's own daily limit
    delete from quota_counters where tenant_id = new.tenant_id and scope = new.id;
  end if;
  return null;
end $$;

create trigger tenants_quota_limits after update of plan_id, limits_override on tenants
  for each row when (old.plan_id is distinct from new.plan_id or old.limits_override is distinct from new.limits_override)
  execute function sb_quota_forget();
create trigger plans_quota_limits after update of messages_per_day, messages_per_month on plans
  for each row when (old.messages_per_day is distinct from new.messages_per_day or old.messages_per_month is distinct from new.messages_per_month)
  execute function sb_quota_forget();
create trigger channels_quota_limits after update of daily_limit on channels
  for each row when (old.daily_limit is distinct from new.daily_limit)
  execute function sb_quota_forget();
