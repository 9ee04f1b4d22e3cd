import { storable } from '../core/text.js';
/**
 * JSON of a provider webhook, made storable. PostgreSQL's text and jsonb hold neither a NUL
 * character nor half of a surrogate pair, and JSON can carry both (`\u0000`, a lone `\ud800`): one
 * such string in a webhook failed its whole processing batch, then the row alone, until the row was
 * parked — every message in that webhook lost to the tenant. Such characters become U+FFFD, as
 * undecodable bytes already do. The check is a scan for the escape; only a body holding one pays
 * for the second pass. Throws as JSON.parse does on malformed input.
 */
const HOSTILE_ESCAPE = /\\u(?:0000|d[89a-f])/i;

function storableJson(v: unknown): unknown {
  if (typeof v === 'string') return storable(v);
  if (Array.isArray(v)) return v.map(storableJson);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [storable(k), storableJson(x)]));
  }
  return v;
}

export function parseWebhookJson(body: Buffer): unknown {
  const text = body.toString('utf8');
  const json: unknown = JSON.parse(text);
  return HOSTILE_ESCAPE.test(text) ? storableJson(json) : json;
}

/**
 * A provider time we can store, else undefined (callers fall back to the envelope's time or now).
 * A Date past year 9999 serialises with an extended year (`+033658-…`) that PostgreSQL refuses: one
 * such timestamp failed its whole webhook until the row was parked, every message in it lost — the
 * same class as the NUL characters above.
 */
export function storableTime(d: Date | undefined): Date | undefined {
  if (d === undefined) return undefined;
  const year = d.getUTCFullYear();
  return Number.isNaN(year) || year < 1 || year > 9999 ? undefined : d;
}
