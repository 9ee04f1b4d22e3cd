import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator } from './simulators.js';
import { createProviderRegistry } from './registry.js';
import { silentLogger, systemClock } from '../core/runtime.js';

/** `switchboard simulate <p>` prints credentials; a channel made from them passes its live test. */
const registry = createProviderRegistry({ fetch, logger: silentLogger, clock: systemClock, timeoutMs: 3000 });

for (const provider of ['cloud-api', 'waha', 'ultramsg', 'sandbox']) {
  test(`simulate ${provider}: the printed credentials connect`, async () => {
    const sim = await startSimulator(provider, 0);
    try {
      assert.ok(sim.credentials, 'credentials are printed');
      assert.match(sim.describe, /credentials: \{/);
      const r = await registry.adapter(provider).testConnection({ tenantId: 'ten_x', channelId: 'chn_x', credentials: sim.credentials });
      assert.equal(r.ok, true);
    } finally {
      await sim.close();
    }
  });
}

test('an unknown provider is refused with the list of choices', async () => {
  await assert.rejects(startSimulator('telegram', 0), /choose cloud-api, waha, ultramsg or sandbox/);
});
