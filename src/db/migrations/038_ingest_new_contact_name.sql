-- sb_ingest_received (migration 032) created a new contact from the batch's last event of that chat,
-- name or no name: a webhook with the sender's message (profile name given) and an echo of our reply
-- to them (Cloud API smb_message_echoes, no name) created the contact without its name, while the
-- general path keeps the last name given. Now the last event that names the sender decides, and
-- the last event only when none does. Otherwise unchanged from migration 032.
create or replace function sb_ingest_received(p_tenant text, p_inbox_ids text[], p_events jsonb)
returns integer
language plpgsql volatile security invoker set search_path = public set plan_cache_mode = force_generic_plan as $$
declare
  -- One array per column of p_events (objects with the keys below, one per new message), built in
  -- one pass: a single JSON document costs the caller far less to send than ~20 typed arrays.
  p_row integer[]; p_channel text[]; p_chat text[]; p_new_name text[]; p_from_me boolean[]; p_ts timestamptz[];
  p_msg_id text[]; p_ctc_id text[]; p_cnv_id text[]; p_evt_id text[]; p_direction text[]; p_status text[];
  p_type text[]; p_content jsonb[]; p_sender text[]; p_pmid text[]; p_reply_to text[]; p_metadata jsonb[];
  p_data jsonb[]; p_name_update text[];
  v_tids tid[];
  v_taken text[];
  v_mask text[];
  v_conv text[];
  v_contact text[];
  v_names text[];
  v_existed text[];
  v_new text[] := '{}';
  v_stored text[];
  n_id text[]; n_channel text[]; n_key text[];
begin
  -- One sort for all twenty arrays (the rows in document order), not one per array_agg(... order by).
  select array_agg(x.row), array_agg(x.channel), array_agg(x.chat), array_agg(x.new_name), array_agg(x.from_me),
         array_agg(x.ts), array_agg(x.msg_id), array_agg(x.ctc_id), array_agg(x.cnv_id), array_agg(x.evt_id),
         array_agg(x.direction), array_agg(x.status), array_agg(x.type), array_agg(x.content), array_agg(x.sender),
         array_agg(x.pmid), array_agg(x.reply_to), array_agg(x.metadata), array_agg(x.data), array_agg(x.name_update)
    into p_row, p_channel, p_chat, p_new_name, p_from_me, p_ts, p_msg_id, p_ctc_id, p_cnv_id, p_evt_id, p_direction, p_status,
         p_type, p_content, p_sender, p_pmid, p_reply_to, p_metadata, p_data, p_name_update
    from (select * from rows from (jsonb_to_recordset(p_events) as (row integer, channel text, chat text, new_name text, from_me boolean, ts timestamptz,
      msg_id text, ctc_id text, cnv_id text, evt_id text, direction text, status text, type text, content jsonb, sender text, pmid text,
      reply_to text, metadata jsonb, data jsonb, name_update text)) with ordinality as r(row, channel, chat, new_name, from_me, ts,
      msg_id, ctc_id, cnv_id, evt_id, direction, status, type, content, sender, pmid, reply_to, metadata, data, name_update, o)
      order by r.o) x;
  perform set_config('app.tenant_id', p_tenant, true);
  -- Lock each row by its primary key (never by status: the statistics of a queue table say "few
  -- pending rows" until a backlog makes that false, and a plan through inbox_pending then scans the
  -- whole backlog per row), keep the pending ones, delete those by their tuple ids.
  select coalesce(array_agg(x.ctid), '{}'), coalesce(array_agg(x.id), '{}') into v_tids, v_taken
    from unnest(p_inbox_ids) as u(id)
    cross join lateral (select x.ctid, x.id, x.status from inbox x where x.tenant_id = p_tenant and x.id = u.id limit 1 for update skip locked) x
    where x.status = 'pending';
  delete from inbox where ctid = any(v_tids);
  if cardinality(v_taken) = 0 then return 0; end if;

  -- 'ok' for the events of the rows taken. No inbound_dedupe row for a new message: its
  -- (channel, provider message id) is unique in messages, which decides on its own whether a
  -- redelivered message is stored (a dedupe key repeats only where the provider id does).
  select array_agg(case when t.id is not null then 'ok' else 'skip' end order by x.o) into v_mask
    from unnest(p_row) with ordinality as x(rw, o)
    left join (select distinct id from unnest(v_taken) as t(id)) t on t.id = p_inbox_ids[x.rw];
  if v_mask is null or not ('ok' = any(v_mask)) then return 0; end if;

  -- Contact, then conversation, of each event (null when missing), by their unique keys.
  select array_agg(k.id order by x.o), array_agg(v.id order by x.o), array_agg(k.profile_name order by x.o) into v_contact, v_conv, v_names
    from unnest(p_channel, p_chat, v_mask) with ordinality as x(ch, chat, m, o)
    left join lateral (select k.id, k.profile_name from contacts k where x.m = 'ok' and k.tenant_id = p_tenant and k.channel_id = x.ch and k.address = x.chat limit 1) k on true
    left join lateral (select v.id from conversations v where v.tenant_id = p_tenant and v.channel_id = x.ch and v.contact_id = k.id limit 1) v on true;
  v_existed := v_contact;
  if exists (select 1 from unnest(v_mask, v_conv) as x(m, cv) where x.m = 'ok' and x.cv is null) then
    -- New contacts, and the keys of those this call created: the rows' contact ids come from them,
    -- with a lookup only for a contact another transaction created meanwhile (its insert conflicted).
    with ins as (
      insert into contacts (tenant_id, id, channel_id, address, profile_name, is_group)
        select distinct on (x.ch, x.chat) p_tenant, x.ci, x.ch, x.chat, x.nm, x.chat like '%@g.us'
        from unnest(p_channel, p_chat, p_ctc_id, p_new_name, v_mask, v_contact) with ordinality as x(ch, chat, ci, nm, m, k, o)
        where x.m = 'ok' and x.k is null
        -- The batch's last event that names the sender (an echo of our own message names nobody).
        order by x.ch, x.chat, x.nm is not null desc, x.o desc
        on conflict (tenant_id, channel_id, address) do nothing
        returning id, channel_id, address)
    select coalesce(array_agg(id), '{}'), coalesce(array_agg(channel_id), '{}'), coalesce(array_agg(address), '{}')
      into n_id, n_channel, n_key from ins;
    select array_agg(case when x.m = 'ok' and x.k is null
                          then coalesce(n.id, (select k.id from contacts k where k.tenant_id = p_tenant and k.channel_id = x.ch and k.address = x.chat limit 1))
                          else x.k end order by x.o) into v_contact
      from unnest(p_channel, p_chat, v_mask, v_contact) with ordinality as x(ch, chat, m, k, o)
      left join unnest(n_id, n_channel, n_key) as n(id, ch, chat) on n.ch = x.ch and n.chat = x.chat;
    -- New conversations the same way, keyed by (channel, contact).
    with g as (
      select x.ch, x.k, min(x.vi) as vi, max(x.ts) as at, count(*) filter (where not x.fm)::int as unread
      from unnest(p_channel, v_contact, p_cnv_id, p_ts, p_from_me, v_mask, v_conv) as x(ch, k, vi, ts, fm, m, cv)
      where x.m = 'ok' and x.cv is null group by x.ch, x.k),
    ins as (
      insert into conversations (tenant_id, id, channel_id, contact_id, last_message_at, unread_count)
        select p_tenant, g.vi, g.ch, g.k, g.at, g.unread from g
        order by g.ch, g.k
        on conflict (tenant_id, channel_id, contact_id) do nothing
        returning id, channel_id, contact_id)
    select coalesce(array_agg(id), '{}'), coalesce(array_agg(channel_id), '{}'), coalesce(array_agg(contact_id), '{}')
      into n_id, n_channel, n_key from ins;
    v_new := n_id;
    select array_agg(case when x.m = 'ok' and x.cv is null
                          then coalesce(n.id, (select v.id from conversations v where v.tenant_id = p_tenant and v.channel_id = x.ch and v.contact_id = x.k limit 1))
                          else x.cv end order by x.o) into v_conv
      from unnest(p_channel, v_contact, v_mask, v_conv) with ordinality as x(ch, k, m, cv, o)
      left join unnest(n_id, n_channel, n_key) as n(id, ch, k) on n.ch = x.ch and n.k = x.k;
  end if;

  -- Profile names of contacts that existed: the last one of the batch wins. Usually none changed,
  -- and the names read by the lookup say so without another statement (new contacts were created
  -- with theirs).
  if exists (select 1 from unnest(v_existed, v_names, p_name_update, v_mask) as x(k, cur, nm, m)
             where x.m = 'ok' and x.k is not null and x.nm is not null and x.nm is distinct from x.cur) then
    update contacts k set profile_name = u.nm, updated_at = now()
      from (select distinct on (x.k) x.k, x.nm from unnest(v_contact, p_name_update, v_mask) with ordinality as x(k, nm, m, o)
            where x.m = 'ok' and x.nm is not null order by x.k, x.o desc) u
      where k.tenant_id = p_tenant and k.id = u.k and k.profile_name is distinct from u.nm;
  end if;

  with ins as (
    insert into messages (tenant_id, id, channel_id, conversation_id, direction, status, type, content, peer, sender, provider_message_id, reply_to, metadata)
      select p_tenant, x.id, x.ch, x.cv, x.dir, x.st, x.ty, x.co, x.chat, x.se, x.pm, x.rt, x.md
      from unnest(p_msg_id, p_channel, v_conv, p_direction, p_status, p_type, p_content, p_chat, p_sender, p_pmid, p_reply_to, p_metadata, v_mask) with ordinality
        as x(id, ch, cv, dir, st, ty, co, chat, se, pm, rt, md, m, o)
      where x.m = 'ok' order by x.o
      on conflict (tenant_id, channel_id, provider_message_id) where provider_message_id is not null do nothing
      returning id)
  select coalesce(array_agg(id), '{}') into v_stored from ins;
  if cardinality(v_stored) = 0 then return 0; end if;

  update conversations v set last_message_at = greatest(coalesce(v.last_message_at, g.at), g.at), unread_count = v.unread_count + g.n_in,
      status = case when g.n_in > 0 then 'open' else v.status end, updated_at = now()
    from (select x.cv, max(x.ts) as at, count(*) filter (where x.dir = 'in')::int as n_in
          from unnest(p_msg_id, v_conv, p_ts, p_direction) as x(id, cv, ts, dir)
          where x.id in (select unnest(v_stored)) and x.cv not in (select unnest(v_new)) group by x.cv) g
    where v.tenant_id = p_tenant and v.id = g.cv;

  with ev as (
    insert into events (tenant_id, id, type, channel_id, data)
      select p_tenant, x.eid, 'message.received', x.ch, x.data || jsonb_build_object('conversation_id', x.cv, 'contact_id', x.k)
      from unnest(p_evt_id, p_msg_id, p_channel, v_conv, v_contact, p_data) with ordinality as x(eid, mid, ch, cv, k, data, o)
      where x.mid in (select unnest(v_stored)) order by x.o
      returning id, type)
  insert into event_deliveries (tenant_id, id, endpoint_id, event_id)
    select p_tenant, sb_new_id('dlv'), w.id, ev.id from ev
    join webhook_endpoints w on w.tenant_id = p_tenant and w.status = 'enabled' and (ev.type = any(w.event_types) or '*' = any(w.event_types));
  return cardinality(v_stored);
end $$;
