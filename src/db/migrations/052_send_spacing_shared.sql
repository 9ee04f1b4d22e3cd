-- WhatsApp-Web lines (WAHA, UltraMsg) pause a random while before each send, never bringing a send
-- closer than 1/rate to the line's previous one. The previous send's time was kept per process, so
-- two scheduler processes sharing a line sent 50 ms apart on a 4/s line. It is kept here now, on
-- the line's rate bucket, which every process already shares (src/delivery/process.ts).
alter table delivery_buckets add column next_send_at timestamptz not null default '-infinity';
