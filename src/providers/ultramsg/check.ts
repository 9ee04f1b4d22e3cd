import type { OutboundContent } from '../../core/canonical.js';
import { contentCall, ultramsgRefusal, ultramsgTo } from './payloads.js';

/**
 * What an UltraMsg line cannot send (media by id, a reaction removal, several contacts without
 * numbers, a location text past 300 characters, …), told at accept: the payload builder's own
 * refusal (review of 2026-12-01: each was accepted and then failed at send).
 */
export function checkUltramsgContent(content: OutboundContent): string[] {
  const refused = ultramsgRefusal(() => contentCall(content));
  return refused ? [refused] : [];
}

/** UltraMsg's `to` takes a number or a `…@g.us` group: no `@lid`, no business-scoped ids. */
export const checkUltramsgRecipient = (peer: string): string | undefined => ultramsgRefusal(() => ultramsgTo(peer));
