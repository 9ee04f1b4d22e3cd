-- The 5-day auto-disable counted from the first failure of a run that had long ended: an endpoint
-- that failed once, got no events for a month, then answered one 503 was disabled at once, without
-- a retry (review of 2026-12-01). The last failed attempt is kept now; a failure more than a day
-- after it starts a new run (src/events/deliver.ts). Unknown (null, rows from before): the run goes on.
alter table webhook_endpoints add column last_failed_at timestamptz;
