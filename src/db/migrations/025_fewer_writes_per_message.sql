-- Fewer index entries and foreign-key checks per message (decision 026; the inbound bench's PostgreSQL time was mostly
-- index maintenance):
--  * conversations_recent (tenant, last_message_at) made every "new message in this conversation"
--    update a non-HOT one (a new entry in all three indexes); only the "active in 24 h" count of
--    /v1/stats could use it, and that query counts the tenant's conversations anyway. Without it,
--    the update rewrites the row on its own page (fillfactor leaves room) and touches no index.
--  * events_created (created_at) was used by no query.
--  * messages_status served status filters, which only outbound messages need (inbound ones are
--    all 'received'): it now indexes outbound messages only (src/messages/service.ts adds the
--    direction to outbound status filters so the planner can use it).
drop index conversations_recent;
alter table conversations set (fillfactor = 80);
drop index events_created;
drop index messages_status;
create index messages_status on messages (tenant_id, status, id desc) where direction = 'out';

-- Foreign keys to rows written in the same statement by the same code path cost more than they
-- protect: checking one takes a KEY SHARE lock on the referenced row, and locking a row means
-- rewriting its header and a WAL record — 41 µs per message for messages → conversations on the
-- inbound bench (pg_stat_statements), for a reference the code has just looked up or created.
-- The channel is what every row hangs from, and the only thing ever deleted (with the tenant):
-- contacts, conversations, messages, delivery jobs and inbox rows all keep their foreign key to
-- channels, so deleting a channel or a tenant still cascades to every one of them
-- (test/foundation/channel-delete.test.ts). Checks against a channel are cheap: a call locks the
-- same few channel rows once per transaction.
alter table messages drop constraint messages_tenant_id_conversation_id_fkey;
alter table conversations drop constraint conversations_tenant_id_contact_id_fkey;
alter table delivery_jobs drop constraint delivery_jobs_tenant_id_message_id_fkey;
alter table delivery_jobs add constraint delivery_jobs_tenant_id_channel_id_fkey
  foreign key (tenant_id, channel_id) references channels (tenant_id, id) on delete cascade;
alter table inbox drop constraint inbox_tenant_id_fkey;
