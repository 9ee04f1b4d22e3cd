import type { ContactCard } from '../../core/canonical.js';
import { phoneDigits, normalizeAddress } from '../../core/address.js';

/**
 * vCard 3.0 in both directions. WAHA sends contacts as vCard strings (`POST /api/sendContactVcard`
 * with `{vcard}` items) and reports received ones as `payload.vCards: string[]`. WhatsApp links a
 * phone to an account with the `waid=<digits>` TEL parameter, so it is written and read here.
 */

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/([,;])/g, '\\$1');
}

function unesc(v: string): string {
  return v.replace(/\\([\\,;nN])/g, (_m, c: string) => (c === 'n' || c === 'N' ? '\n' : c));
}

export function buildVcard(c: ContactCard): string {
  const lines = ['BEGIN:VCARD', 'VERSION:3.0', `FN:${esc(c.name.formatted)}`];
  if (c.name.first || c.name.last) lines.push(`N:${esc(c.name.last ?? '')};${esc(c.name.first ?? '')};;;`);
  if (c.org?.company) lines.push(`ORG:${esc(c.org.company)};`);
  if (c.org?.title) lines.push(`TITLE:${esc(c.org.title)}`);
  for (const p of c.phones ?? []) {
    const type = (p.type ?? 'CELL').toUpperCase().replace(/[^A-Z]/g, '') || 'CELL';
    const normal = normalizeAddress(p.waId ?? p.phone);
    const waid = p.waId ? p.waId.replace(/\D/g, '') : normal?.startsWith('+') ? phoneDigits(normal) : undefined;
    lines.push(`TEL;type=${type};type=VOICE${waid ? `;waid=${waid}` : ''}:${esc(p.phone)}`);
  }
  for (const e of c.emails ?? []) {
    const type = (e.type ?? 'INTERNET').toUpperCase().replace(/[^A-Z]/g, '') || 'INTERNET';
    lines.push(`EMAIL;type=${type}:${esc(e.email)}`);
  }
  lines.push('END:VCARD');
  return lines.join('\n');
}

/** Parses one vCard; undefined when it has no name and no phone (not a contact worth keeping). */
export function parseVcard(text: string): ContactCard | undefined {
  if (text.length > 100_000) return undefined;
  // Unfold continuation lines (RFC 6350 §3.2) before splitting.
  const lines = text.replace(/\r?\n[ \t]/g, '').split(/\r?\n/);
  let formatted: string | undefined;
  let first: string | undefined;
  let last: string | undefined;
  const phones: NonNullable<ContactCard['phones']> = [];
  const emails: NonNullable<ContactCard['emails']> = [];
  const org: NonNullable<ContactCard['org']> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const head = line.slice(0, colon);
    const value = unesc(line.slice(colon + 1).trim());
    const [rawName = '', ...params] = head.split(';');
    const name = rawName.replace(/^item\d+\./i, '').toUpperCase();
    const param = (key: string): string | undefined => {
      const hits = params.filter((p) => p.toLowerCase().startsWith(`${key}=`)).map((p) => p.slice(key.length + 1));
      return hits.length ? hits.join(',') : undefined;
    };
    if (name === 'FN') formatted = value;
    else if (name === 'N') {
      const parts = line.slice(colon + 1).split(/(?<!\\);/).map((p) => unesc(p.trim()));
      last = parts[0] || undefined;
      first = parts[1] || undefined;
    } else if (name === 'TEL') {
      const waId = param('waid');
      const types = (param('type') ?? '').split(',').filter((t) => t && t.toUpperCase() !== 'VOICE');
      phones.push({ phone: value, ...(types[0] ? { type: types[0].toUpperCase() } : {}), ...(waId ? { waId } : {}) });
    } else if (name === 'EMAIL') {
      const types = (param('type') ?? '').split(',').filter((t) => t && t.toUpperCase() !== 'INTERNET');
      emails.push({ email: value, ...(types[0] ? { type: types[0].toUpperCase() } : {}) });
    } else if (name === 'ORG') {
      const company = unesc((line.slice(colon + 1).split(/(?<!\\);/)[0] ?? '').trim());
      if (company) org.company = company;
    } else if (name === 'TITLE' && value) org.title = value;
  }
  formatted ??= [first, last].filter(Boolean).join(' ') || phones[0]?.phone;
  if (!formatted) return undefined;
  const card: ContactCard = { name: { formatted, ...(first ? { first } : {}), ...(last ? { last } : {}) } };
  if (phones.length) card.phones = phones;
  if (emails.length) card.emails = emails;
  if (org.company || org.title) card.org = org;
  return card;
}
