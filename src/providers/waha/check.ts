import type { OutboundContent } from '../../core/canonical.js';

/**
 * What WAHA cannot send even though the type is listed (see outbound.ts for why): reply buttons
 * (deprecated endpoint) and media by provider id (WAHA has no media store; send a URL).
 */
export function checkWahaContent(content: OutboundContent): string[] {
  if (content.type === 'interactive' && content.interactive.kind === 'buttons') return ['reply buttons are not supported; send an interactive list'];
  if ('media' in content && 'id' in content.media) return ['media must be given by url (WAHA has no media ids)'];
  return [];
}
