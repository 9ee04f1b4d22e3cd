import type { OutboundContent } from '../../core/canonical.js';

/** UltraMsg takes media as a URL (or base64), never a provider media id. */
export function checkUltramsgContent(content: OutboundContent): string[] {
  if ('media' in content && 'id' in content.media) return ['media must be given by url (UltraMsg has no media ids)'];
  return [];
}
