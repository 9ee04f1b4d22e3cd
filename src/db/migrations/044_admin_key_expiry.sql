-- Superadmin keys could not expire, and nothing recorded their use (last_used_at was never written):
-- a leaked one worked until someone revoked it by hand in SQL. Now they may carry an expiry
-- (`switchboard superadmin key --expires-in-days N`), are listed and revoked from the CLI, and their
-- use is recorded (at most once a minute a key and process).
alter table admin_keys add column expires_at timestamptz;
