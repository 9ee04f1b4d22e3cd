/**
 * PostgreSQL's text and jsonb hold neither a NUL character nor half of a surrogate pair; JavaScript
 * strings can hold both (a provider's error page, JSON's `\u0000` and lone `\ud800`, a cut through an
 * emoji). One such string in a write fails the whole transaction it is in.
 */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `s` with unstorable characters as U+FFFD (as undecodable bytes already are). */
export const storable = (s: string): string => s.replace(UNSTORABLE, '\uFFFD');

/** At most `max` UTF-16 units of `s`, never cut inside a surrogate pair, and storable. */
export function storableText(s: string, max: number): string {
  let cut = s.length > max ? s.slice(0, max) : s;
  if (cut.length < s.length && /[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return storable(cut);
}
