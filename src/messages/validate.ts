import type { OutboundContent } from '../core/canonical.js';
import { parseAddress } from '../core/address.js';
import { validateContent } from '../providers/cloud-api/validate.js';

export interface SendInput {
  channel_id: string;
  to: string;
  content: OutboundContent;
  reply_to?: string | undefined;
  metadata?: Record<string, string | number | boolean> | undefined;
}

export interface Problem {
  path: string;
  message: string;
}

/**
 * Canonical recipient, or a problem. Phones go through libphonenumber (must be a possible number
 * for its country); WhatsApp ids must be well-formed (`…@c.us` becomes the phone, `…@g.us`,
 * `…@lid`, `bsuid:…` are kept). Newsletters/broadcast lists are not message recipients here.
 */
export function normalizeRecipient(to: string): string | null {
  const a = parseAddress(to);
  if (!a || a.kind === 'other') return null;
  return a.value;
}

/**
 * Shape-independent checks of one message before anything is written: recipient and content
 * limits. The limits are the WhatsApp platform's, as written down in the contracts for the Cloud API
 * (CONTRACTS.md §1.2, `src/providers/cloud-api/limits.ts`); WAHA and UltraMsg deliver through the same
 * WhatsApp network, so the same limits hold for them (decision 010). Provider capability (is this
 * type supported at all) is checked once the channel is known.
 */
export function checkMessage(m: SendInput, at: string): { to: string | null; problems: Problem[] } {
  const problems: Problem[] = [];
  const to = normalizeRecipient(m.to);
  if (!to) problems.push({ path: `${at}/to`, message: 'not a valid phone number (E.164) or WhatsApp id' });
  for (const message of validateContent(m.content)) {
    if (/is not supported by the Cloud API/.test(message)) continue; // capability is checked per provider
    problems.push({ path: `${at}/content`, message });
  }
  return { to, problems };
}
