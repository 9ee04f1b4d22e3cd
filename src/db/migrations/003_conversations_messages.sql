-- Contacts, conversations and messages: shared by outbound delivery and the inbound pipeline.
-- A conversation is per (channel, contact): the same person writing to two lines is two
-- conversations.

create table contacts (
  tenant_id     text not null references tenants(id) on delete cascade,
  id            text not null,
  channel_id    text not null,
  address       text not null,          -- canonical address (src/core/address.ts)
  profile_name  text,
  is_group      boolean not null default false,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now(),
  primary key (tenant_id, id),
  unique (tenant_id, channel_id, address),
  foreign key (tenant_id, channel_id) references channels (tenant_id, id) on delete cascade
);
select sb_tenant_table('contacts');

create table conversations (
  tenant_id        text not null references tenants(id) on delete cascade,
  id               text not null,
  channel_id       text not null,
  contact_id       text not null,
  status           text not null default 'open' check (status in ('open', 'closed')),
  mode             text not null default 'bot' check (mode in ('bot', 'human')),
  assignee_id      text,                 -- usr_… of the assigned member
  last_message_at  timestamptz,
  unread_count     integer not null default 0,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  primary key (tenant_id, id),
  unique (tenant_id, channel_id, contact_id),
  foreign key (tenant_id, channel_id) references channels (tenant_id, id) on delete cascade,
  foreign key (tenant_id, contact_id) references contacts (tenant_id, id) on delete cascade
);
select sb_tenant_table('conversations');
create index conversations_recent on conversations (tenant_id, last_message_at desc);

-- Status order for monotonic updates: a status only moves to a higher rank (read never returns to
-- delivered). 'failed' outranks the in-flight states but not delivered/read/played: a message the
-- recipient has is not failed because a late error arrived.
create function sb_status_rank(s text) returns integer language sql immutable as $$
  select case s
    when 'queued' then 0 when 'sending' then 1 when 'sent' then 2
    when 'failed' then 3 when 'cancelled' then 3
    when 'delivered' then 4 when 'read' then 5 when 'played' then 6
    when 'received' then 0 else -1 end
$$;

create table messages (
  tenant_id            text not null references tenants(id) on delete cascade,
  id                   text not null,
  channel_id           text not null,
  conversation_id      text not null,
  direction            text not null check (direction in ('in', 'out')),
  -- out: queued → sending → sent → delivered → read (→ played) | failed | cancelled; in: received
  status               text not null,
  type                 text not null,
  content              jsonb not null,
  peer                 text not null,     -- the other party's canonical address (group id for groups)
  sender               text,              -- who wrote an inbound group message
  provider_message_id  text,
  reply_to             text,
  error_code           text,
  error_detail         text,
  attempts             integer not null default 0,
  metadata             jsonb not null default '{}',
  created_at           timestamptz not null default now(),
  updated_at           timestamptz not null default now(),
  sent_at              timestamptz,
  delivered_at         timestamptz,
  read_at              timestamptz,
  failed_at            timestamptz,
  primary key (tenant_id, id),
  foreign key (tenant_id, channel_id) references channels (tenant_id, id) on delete cascade,
  foreign key (tenant_id, conversation_id) references conversations (tenant_id, id) on delete cascade
);
select sb_tenant_table('messages');
-- Inbound dedupe and status routing: one message per provider id per channel.
create unique index messages_provider_id on messages (tenant_id, channel_id, provider_message_id) where provider_message_id is not null;
create index messages_conversation on messages (tenant_id, conversation_id, id desc);
create index messages_created on messages (tenant_id, created_at desc);
