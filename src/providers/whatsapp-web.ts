import type { MediaType } from '../core/canonical.js';
import { parseAddress } from '../core/address.js';

/**
 * whatsapp-web.js message type names → canonical media types. WAHA (WEBJS engine) reports them, and
 * UltraMsg appears to pass them through; one table so the two cannot drift. `ptt` is a voice note,
 * `ptv` a round video note.
 */
export const WEBJS_MEDIA_TYPES: Readonly<Record<string, MediaType | 'voice'>> = {
  image: 'image',
  video: 'video',
  audio: 'audio',
  ptt: 'voice',
  document: 'document',
  sticker: 'sticker',
  ptv: 'video',
};

/** A WhatsApp-Web line (WAHA, UltraMsg) speaks JIDs: Meta's business-scoped user ids have no form there. */
export const checkWebRecipient = (peer: string): string | undefined =>
  parseAddress(peer)?.kind === 'bsuid' ? `a WhatsApp-Web line cannot address business-scoped user ids (${peer})` : undefined;
