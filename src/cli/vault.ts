import type { Command } from './main.js';
import pino from 'pino';
import { createLogger, createRuntime } from '../app/root.js';
import { listTenants } from '../tenants/service.js';
import { withTenant, asTenantId } from '../db/db.js';
import { SEALED_COLUMNS } from '../crypto/sealed-columns.js';
import { progress } from './progress.js';
import { audit, cliActor } from '../audit/audit.js';
import { userInfo } from 'node:os';

/**
 * `switchboard vault rotate`: re-encrypts every sealed secret that is not under the current
 * MASTER_KEY. Run it after setting MASTER_KEY to the new key and MASTER_KEY_PREVIOUS to the old one;
 * when it reports zero left, the old key can be dropped. Safe to re-run; works tenant by tenant.
 */
export const vaultRotate: Command = async (config) => {
  const rt = await createRuntime({ ...config, logLevel: 'warn' }, { logger: createLogger({ logLevel: 'warn' }, pino.destination(2)) });
  let rotated = 0;
  try {
    const tenants = await listTenants(rt.ctx, { limit: 1_000_000 });
    const bar = progress('re-encrypting', tenants.length);
    for (const t of tenants) {
      const tenantId = asTenantId(t.id);
      await withTenant(rt.ctx.db, tenantId, async (tx) => {
        let here = 0;
        for (const col of SEALED_COLUMNS) here += await col.rotate(tx, rt.ctx.vault);
        // A configuration change like any other: recorded with it (no secret, only the count and key id).
        if (here > 0) await audit(tx, { tenantId, actor: cliActor(userInfo().username), action: 'vault.rotated', details: { reencrypted: here, now_under: rt.ctx.vault.currentKeyId } });
        rotated += here;
      });
      bar.tick();
    }
    bar.done();
  } finally {
    await rt.close();
  }
  process.stdout.write(`${rotated} secret(s) re-encrypted under key ${rt.ctx.vault.currentKeyId}\n`);
};
