import { normalizeAddress } from '../../core/address.js';

/**
 * What the UltraMsg simulator refuses, from docs.ultramsg.com and the PHP SDK: required fields per
 * endpoint and documented limits (chat body ≤ 4096 chars, captions ≤ 1024, location address ≤ 300,
 * lat/lng numeric). Refusals use UltraMsg's validation shape `{"error":[{"<field>":"<message>"}]}`
 * (fixture `error_validation_required.json`); only "is required" is verbatim, the other messages are
 * the simulator's own wording (UNCERTAIN).
 */

export const SEND_ENDPOINTS: Record<string, { required: string[]; needsTo: boolean }> = {
  chat: { required: ['body'], needsTo: true },
  image: { required: ['image'], needsTo: true },
  video: { required: ['video'], needsTo: true },
  audio: { required: ['audio'], needsTo: true },
  voice: { required: ['audio'], needsTo: true },
  document: { required: ['document', 'filename'], needsTo: true },
  sticker: { required: ['sticker'], needsTo: true },
  location: { required: ['address', 'lat', 'lng'], needsTo: true },
  contact: { required: ['contact'], needsTo: true },
  vcard: { required: ['vcard'], needsTo: true },
  link: { required: ['link'], needsTo: true },
  reaction: { required: ['msgId', 'emoji'], needsTo: false },
};

const MAX_LEN: Record<string, number> = { body: 4096, caption: 1024, address: 300, filename: 255, emoji: 16 };

/**
 * `to` as UltraMsg takes it (contracts §3.2): `+E164`, `<digits>@c.us`, `<gid>@g.us` — bare digits
 * too, which the API reads as a phone number. Other ids (`status@broadcast`, `…@lid`, `…@newsletter`)
 * are refused, as UltraMsg refuses them.
 */
export function chatIdOf(to: string): string | null {
  if (!/^(\+?\d{6,15}|\d{6,15}@c\.us|[\d-]{6,40}@g\.us)$/.test(to)) return null;
  const canonical = normalizeAddress(to);
  if (!canonical) return null;
  return canonical.startsWith('+') ? `${canonical.slice(1)}@c.us` : canonical;
}

export function validateSend(kind: string, f: Record<string, string>): Record<string, string>[] {
  const spec = SEND_ENDPOINTS[kind];
  if (!spec) return [{ endpoint: 'not found' }];
  const errors: Record<string, string>[] = [];
  const fields = spec.needsTo ? ['to', ...spec.required] : spec.required;
  for (const name of fields) if (f[name] === undefined || f[name] === '') errors.push({ [name]: 'is required' });
  if (errors.length) return errors;
  if (spec.needsTo && !chatIdOf(f.to!)) errors.push({ to: 'invalid phone number or chatID' });
  for (const [name, max] of Object.entries(MAX_LEN)) {
    const v = f[name];
    if (v !== undefined && [...v].length > max) errors.push({ [name]: `max length ${max} characters` });
  }
  if (kind === 'location') {
    const lat = Number(f.lat);
    const lng = Number(f.lng);
    if (!Number.isFinite(lat) || Math.abs(lat) > 90) errors.push({ lat: 'invalid latitude' });
    if (!Number.isFinite(lng) || Math.abs(lng) > 180) errors.push({ lng: 'invalid longitude' });
  }
  if (f.priority !== undefined && !/^\d{1,3}$/.test(f.priority)) errors.push({ priority: 'must be a number' });
  for (const media of ['image', 'video', 'audio', 'document', 'sticker']) {
    const v = f[media];
    if (spec.required.includes(media) && v !== undefined && !/^(https?:\/\/|data:|[A-Za-z0-9+/=]{16,}$)/.test(v)) {
      errors.push({ [media]: 'must be an HTTP link or base64' });
    }
  }
  return errors;
}
