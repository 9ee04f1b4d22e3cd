import type { Tx } from '../db/db.js';
import type { Vault } from './vault.js';
import '../events/schema.js';

/**
 * Every column holding a vault envelope, so `vault rotate` cannot miss one: a feature that stores a
 * new kind of secret adds an entry here. `rotate` runs inside one tenant's transaction and locks the
 * rows it reads: a secret changed between its read and its write (a credential PATCH) was otherwise
 * overwritten with the old value re-encrypted, after that PATCH had answered 200.
 */
export interface SealedColumn {
  name: string;
  rotate(tx: Tx, vault: Vault): Promise<number>;
}

export const SEALED_COLUMNS: SealedColumn[] = [
  {
    name: 'channels.secrets_enc',
    async rotate(tx, vault) {
      const rows = await tx.selectFrom('channels').select(['tenant_id', 'id', 'secrets_enc']).forUpdate().execute();
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
  {
    // Webhook endpoint signing secrets (src/events/endpoints.ts), AAD tenant + endpoint id.
    name: 'webhook_endpoints.secret_enc',
    async rotate(tx, vault) {
      const rows = await tx.selectFrom('webhook_endpoints').select(['tenant_id', 'id', 'secret_enc', 'previous_secret_enc']).forUpdate().execute();
      let n = 0;
      for (const r of rows) {
        const aad = { tenantId: r.tenant_id, recordId: r.id };
        const prev = r.previous_secret_enc;
        if (vault.isCurrent(r.secret_enc) && (prev === null || vault.isCurrent(prev))) continue;
        await tx.updateTable('webhook_endpoints').set({
          secret_enc: vault.encrypt(vault.decrypt(r.secret_enc, aad), aad),
          previous_secret_enc: prev === null ? null : vault.encrypt(vault.decrypt(prev, aad), aad),
        }).where('id', '=', r.id).execute();
        n += 1;
      }
      return n;
    },
  },
];
