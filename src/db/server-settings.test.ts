import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settingsChecks, walPacedAbove, WAL_BYTES_PER_WEBHOOK, type ServerSettings } from './server-settings.js';

const defaults: ServerSettings = { maxWalSizeMb: 1024, checkpointTimeoutS: 300, checkpointCompletionTarget: 0.9, walCompression: 'off', autovacuum: true };

test('the rate above which WAL paces checkpoints follows max_wal_size, the timeout and the completion target', () => {
  // PostgreSQL's defaults: 1 GiB / 1.9 of WAL per checkpoint, spread over 300 s, at ~5 KB a webhook.
  const expected = (1024 * 1024 * 1024) / 1.9 / 300 / WAL_BYTES_PER_WEBHOOK;
  assert.ok(Math.abs(walPacedAbove(defaults) - expected) < 1e-9);
  assert.equal(Math.round(walPacedAbove(defaults)), 377);
  assert.ok(Math.abs(walPacedAbove({ ...defaults, maxWalSizeMb: 8192 }) - 8 * expected) < 1e-6);
  assert.ok(Math.abs(walPacedAbove({ ...defaults, checkpointTimeoutS: 900 }) - expected / 3) < 1e-9);
  assert.ok(walPacedAbove({ ...defaults, checkpointCompletionTarget: 0.5 }) > expected);
  const line = settingsChecks(defaults).find((c) => c.name === 'checkpoints')!;
  assert.match(line.detail, /above ~377 webhooks\/s/);
});

test('wal_compression off and autovacuum off are advice, never failures', () => {
  const plain = settingsChecks(defaults);
  assert.ok(plain.every((c) => c.ok));
  assert.deepEqual(plain.filter((c) => c.warn).map((c) => c.name), ['wal_compression']);
  const tuned = settingsChecks({ ...defaults, walCompression: 'lz4' });
  assert.deepEqual(tuned.filter((c) => c.warn), []);
  assert.equal(tuned.find((c) => c.name === 'wal_compression')!.detail, 'lz4');
  const noVacuum = settingsChecks({ ...defaults, walCompression: 'lz4', autovacuum: false });
  assert.deepEqual(noVacuum.filter((c) => c.warn).map((c) => c.name), ['autovacuum']);
  assert.ok(noVacuum.every((c) => c.ok));
});
