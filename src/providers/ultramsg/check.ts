import type { OutboundContent } from '../../core/canonical.js';
import { parseAddress } from '../../core/address.js';

/** UltraMsg's `address` under a location pin holds at most this many characters. */
export const LOCATION_TEXT_MAX = 300;

/** The text under a location pin: name and address, one per line (src/providers/ultramsg/payloads.ts). */
export const locationText = (c: { name?: string | undefined; address?: string | undefined }): string => [c.name, c.address].filter(Boolean).join('\n');

/**
 * What an UltraMsg line cannot send, told at accept (a 422) rather than as a failure after it was
 * queued (review of 2026-12-01: each of these was accepted and then failed).
 */
export function checkUltramsgContent(content: OutboundContent): string[] {
  if ('media' in content && 'id' in content.media) return ['media must be given by url (UltraMsg has no media ids)'];
  if (content.type === 'reaction' && content.emoji === '') return ['UltraMsg cannot remove a reaction (emoji "")'];
  if (content.type === 'location' && locationText(content).length > LOCATION_TEXT_MAX) {
    return [`location name and address together must be at most ${LOCATION_TEXT_MAX} characters on UltraMsg`];
  }
  if (content.type === 'contacts' && content.contacts.length > 1) {
    // Several contacts go by WhatsApp id (`messages/contact`), at most 50.
    if (content.contacts.length > 50) return ['at most 50 contacts per message on UltraMsg'];
    if (content.contacts.some((c) => !c.phones?.[0]?.waId && !c.phones?.[0]?.phone.replace(/\D/g, ''))) {
      return ['when several contacts are sent on UltraMsg, each needs a phone number'];
    }
  }
  return [];
}

/** UltraMsg's `to` takes a number or a `…@c.us` / `…@g.us` chat id: no `@lid`, no business-scoped ids. */
export function checkUltramsgRecipient(peer: string): string | undefined {
  const kind = parseAddress(peer)?.kind;
  return kind === 'phone' || kind === 'group' ? undefined : `an UltraMsg line can send to phone numbers and groups only (${peer})`;
}
