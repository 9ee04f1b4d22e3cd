-- Login resolves a tenant slug and checks membership before any tenant is set on the connection.
create function sb_tenant_for_member(p_slug text, p_user text)
returns table (id text, status text)
language sql stable security definer set search_path = public as $$
  select t.id, t.status from tenants t join memberships m on m.tenant_id = t.id
  where t.slug = p_slug and m.user_id = p_user
$$;
