import { normalizeAddress, parseAddress } from '../../core/address.js';

/**
 * Cloud API ⇄ canonical addresses.
 *
 * Groups: Meta names a group by an opaque id such as
 * `Y2FwaV9ncm91cDoxODA1NTU1MDE3MjoxMjAzNjMyMjI3NzE5NjMwNjcZD`, which is Graph's base64 flavour
 * (each `=` pad written `ZD`, as in its paging cursors `MAZDZD` = "0") of
 * `capi_group:<business number>:<WhatsApp group id>`. Decoding it gives the same `…@g.us` address
 * WAHA and UltraMsg use, so one group is one canonical address across providers. The encoding is
 * undocumented: when an id does not decode, the opaque id is kept as `<opaque>@g.us` and sent back
 * verbatim, so nothing is lost either way.
 */

const GROUP_PREFIX = 'capi_group:';

function fbBase64Decode(s: string): string | undefined {
  const m = /^([A-Za-z0-9+/_-]+?)((?:ZD)*)$/.exec(s);
  if (!m) return undefined;
  const candidates = [s, `${m[1]}${'='.repeat((m[2]?.length ?? 0) / 2)}`];
  for (const c of candidates) {
    const text = Buffer.from(c.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
    if (/^capi_group:\d{5,20}:[0-9-]{5,64}$/.test(text)) return text;
  }
  return undefined;
}

/** The WhatsApp group id (`120363…`) inside a Cloud API group id, or undefined when opaque. */
export function decodeGroupId(opaque: string): string | undefined {
  const text = fbBase64Decode(opaque);
  return text?.split(':')[2];
}

/** Rebuilds Meta's group id from the line's own number (digits) and the WhatsApp group id. */
export function encodeGroupId(businessDigits: string, groupId: string): string {
  return Buffer.from(`${GROUP_PREFIX}${businessDigits}:${groupId}`, 'utf8')
    .toString('base64')
    .replace(/=/g, 'ZD');
}

/** Canonical address of a Cloud API group id. */
export function groupAddress(opaque: string): string {
  const gid = decodeGroupId(opaque);
  return `${gid ?? opaque}@g.us`;
}

/** Canonical address of a wa_id; non-numbers Meta might invent are kept rather than dropped. */
export function phoneAddress(waId: string): string {
  const digits = waId.replace(/[^0-9]/g, '');
  return normalizeAddress(waId) ?? (digits.length > 0 ? `+${digits}` : waId);
}

export function bsuidAddress(userId: string): string {
  return `bsuid:${userId}`;
}

export type CloudRecipient =
  | { kind: 'individual'; to: string }
  | { kind: 'bsuid'; recipient: string }
  /** `groupId` is a WhatsApp group id needing the line's number to encode, `opaque` goes as is. */
  | { kind: 'group'; groupId?: string; opaque?: string };

/** Where a canonical address goes in a Cloud API send body; undefined when Meta cannot address it. */
export function toCloudRecipient(address: string): CloudRecipient | undefined {
  const trimmed = address.trim();
  if (trimmed.endsWith('@g.us')) {
    const local = trimmed.slice(0, -'@g.us'.length);
    if (/^[0-9-]{5,64}$/.test(local)) return { kind: 'group', groupId: local };
    return /^[A-Za-z0-9+/_=-]{8,256}$/.test(local) ? { kind: 'group', opaque: local } : undefined;
  }
  const a = parseAddress(trimmed);
  if (!a) return undefined;
  if (a.kind === 'phone') return { kind: 'individual', to: a.value.replace(/^\+/, '') };
  if (a.kind === 'bsuid') return { kind: 'bsuid', recipient: a.value.slice('bsuid:'.length) };
  return undefined; // @lid and others have no Cloud API form
}
