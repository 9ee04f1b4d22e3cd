-- sb_refresh_statistics (migrations 007, 029; decision 040) analyzes with a statistics target of 25
-- instead of the server's default (100): a sample of 7,500 rows instead of 30,000. Its ANALYZEs are
-- the early-growth catch-up, unthrottled (autovacuum's own are cost-delayed), and on the inbound
-- bench one refresh of messages, events, conversations and contacts held a core for 0.1-0.9 s while
-- webhooks were being acknowledged; ANALYZE's time is proportional to the target (messages at
-- 300,000 rows: 215 ms at 100, 48 ms at 25). Plans here look rows up by keys, which a smaller sample
-- estimates well enough; steady state stays with autovacuum, at the server's target.
alter function sb_refresh_statistics(integer) set default_statistics_target = 25;
