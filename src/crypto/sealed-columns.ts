import type { Tx } from '../db/db.js';
import type { Vault } from './vault.js';

/**
 * Every column holding a vault envelope, so `vault rotate` cannot miss one: a feature that stores a
 * new kind of secret adds an entry here. `rotate` runs inside one tenant's transaction.
 */
export interface SealedColumn {
  name: string;
  rotate(tx: Tx, vault: Vault): Promise<number>;
}

export const SEALED_COLUMNS: SealedColumn[] = [
  {
    name: 'channels.secrets_enc',
    async rotate(tx, vault) {
      const rows = await tx.selectFrom('channels').select(['tenant_id', 'id', 'secrets_enc']).execute();
      let n = 0;
      for (const r of rows) {
        if (vault.isCurrent(r.secrets_enc)) continue;
        const aad = { tenantId: r.tenant_id, recordId: r.id };
        const fresh = vault.encrypt(vault.decrypt(r.secrets_enc, aad), aad);
        await tx.updateTable('channels').set({ secrets_enc: fresh }).where('id', '=', r.id).execute();
        n += 1;
      }
      return n;
    },
  },
];
