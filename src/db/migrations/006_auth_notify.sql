-- Credential lookups are cached per process (decision 019); these triggers tell every process to
-- drop a tenant's cached entries the moment something that decides access commits: a key revoked,
-- re-scoped, given another expiry or deleted; a tenant's status changed or the tenant deleted.
-- Payload: the tenant id. Row triggers, but on columns that change rarely (last_used_at, written
-- once a minute per key, is deliberately not among them).
create function sb_notify_auth() returns trigger language plpgsql as $$
begin
  if tg_table_name = 'tenants' then
    perform pg_notify('sb_auth', old.id);
  else
    perform pg_notify('sb_auth', old.tenant_id);
  end if;
  return null;
end $$;

create trigger api_keys_auth_update after update of revoked_at, scopes, expires_at, key_hash, tenant_id on api_keys
  for each row execute function sb_notify_auth();
create trigger api_keys_auth_delete after delete on api_keys
  for each row execute function sb_notify_auth();
create trigger tenants_auth_update after update of status on tenants
  for each row when (old.status is distinct from new.status) execute function sb_notify_auth();
create trigger tenants_auth_delete after delete on tenants
  for each row execute function sb_notify_auth();
