-- Webhook routes are cached per process for up to 5 s (src/inbound/routing.ts, decision 021). A
-- line moved from one channel to another (a channel's credentials now name another
-- phone_number_id while another tenant's channel takes the old one) could meanwhile be routed to its
-- old channel: another tenant's message filed under it (decision 051's open point). These triggers
-- tell every process to drop its cached routes the moment something routing reads commits: a
-- channel created, deleted, given another line, token, status, secrets or settings; a tenant's status.
-- Statement-level: one notification per statement; these change rarely.
create function sb_notify_routes() returns trigger language plpgsql as $$
begin
  perform pg_notify('sb_routes', '');
  return null;
end $$;

create trigger channels_routes_insert after insert on channels
  for each statement execute function sb_notify_routes();
create trigger channels_routes_update after update of external_id, webhook_token, status, secrets_enc, settings, tenant_id, provider on channels
  for each statement execute function sb_notify_routes();
create trigger channels_routes_delete after delete on channels
  for each statement execute function sb_notify_routes();
create trigger tenants_routes_update after update of status on tenants
  for each statement execute function sb_notify_routes();
