import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Secrets at rest: AES-256-GCM under a versioned master key.
 *
 * Envelope: `v1.<keyId>.<iv>.<ciphertext>.<tag>` (base64url parts). The key id is the first 8 hex
 * characters of SHA-256(key), so a key needs no name and decryption picks the right one of the
 * current and previous keys. The tenant id and record id are bound as additional authenticated
 * data: a ciphertext copied onto another tenant's or channel's row fails to decrypt.
 * IVs are 12 random bytes; NIST SP 800-38D caps that at 2^32 encryptions per key, far above the
 * number of credential writes a deployment makes between rotations.
 */
export interface Aad {
  tenantId: string;
  recordId: string;
}

export class VaultError extends Error {
  override name = 'VaultError';
}

export const keyIdOf = (key: Buffer): string => createHash('sha256').update(key).digest('hex').slice(0, 8);

export class Vault {
  private readonly keys = new Map<string, Buffer>();
  readonly currentKeyId: string;

  constructor(
    private readonly current: Buffer,
    previous: Buffer[] = [],
  ) {
    if (current.length !== 32) throw new VaultError('master key must be 32 bytes');
    this.currentKeyId = keyIdOf(current);
    for (const k of [current, ...previous]) this.keys.set(keyIdOf(k), k);
  }

  encrypt(plaintext: string, aad: Aad): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current, iv);
    cipher.setAAD(aadBytes(aad));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', this.currentKeyId, iv.toString('base64url'), ct.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  decrypt(envelope: string, aad: Aad): string {
    const parts = envelope.split('.');
    if (parts.length !== 5 || parts[0] !== 'v1') throw new VaultError('not a vault envelope');
    const [, kid, iv, ct, tag] = parts as [string, string, string, string, string];
    const key = this.keys.get(kid);
    if (!key) throw new VaultError(`no master key with id ${kid} is configured (MASTER_KEY / MASTER_KEY_PREVIOUS)`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(aadBytes(aad));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    } catch (err) {
      throw new VaultError('secret failed authentication (wrong key, tenant or record)', { cause: err });
    }
  }

  /** Key id an envelope was sealed with. */
  static keyIdOfEnvelope(envelope: string): string | undefined {
    return envelope.split('.')[1];
  }

  isCurrent(envelope: string): boolean {
    return Vault.keyIdOfEnvelope(envelope) === this.currentKeyId;
  }
}

function aadBytes(aad: Aad): Buffer {
  // Length-prefixed so ("ab","c") and ("a","bc") differ.
  return Buffer.from(`${aad.tenantId.length}:${aad.tenantId}|${aad.recordId.length}:${aad.recordId}`, 'utf8');
}

export const generateMasterKey = (): string => randomBytes(32).toString('base64');
