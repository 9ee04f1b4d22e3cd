-- sb_inbox_put_packed: sb_inbox_put_many (migrations 020, 031) with the commit group's bodies sent as
-- ONE bytea parameter plus their lengths, and their kept headers as one JSON array. node-postgres
-- sends a bytea[] parameter as array text: every body hex-encoded in JavaScript (twice its size on
-- the wire), then parsed back by array_in and byteain in the backend, on the acknowledge path; a
-- single Buffer parameter goes in binary format, as it is. Likewise a jsonb[] parameter escapes
-- every quote of every element for array_in to undo. docs/performance.md, 2026-12-01 06:10 section.
-- sb_inbox_put_many stays for processes of the previous version during a rolling upgrade.
create function sb_inbox_put_packed(p_tenants text[], p_ids text[], p_channels text[], p_providers text[], p_bodies bytea, p_lengths integer[], p_headers jsonb, p_split boolean[])
returns void language plpgsql volatile security definer set search_path = public as $$
begin
  insert into inbox (tenant_id, id, channel_id, provider, body, headers, split)
  select u.t, u.i, u.c, u.p, substring(p_bodies from (u.e - u.l + 1)::integer for u.l), p_headers -> (u.n - 1)::integer, u.s
  from (select x.*, sum(x.l) over (order by x.n) as e
        from unnest(p_tenants, p_ids, p_channels, p_providers, p_lengths, p_split) with ordinality as x(t, i, c, p, l, s, n)) u;
end $$;
