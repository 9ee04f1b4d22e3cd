/**
 * Content limits Meta enforces on `POST /{phone-number-id}/messages` (CONTRACTS.md §1.2, mirroring
 * Meta's docs as encoded by whatsapp-api-js `src/messages/*.ts`). One table for the adapter's early
 * validation and the simulator's rejections, so the two cannot drift apart.
 */
export const LIMITS = {
  textBody: 4096,
  caption: 1024,
  filename: 240,
  interactiveBody: 1024,
  interactiveHeader: 60,
  interactiveFooter: 60,
  buttonsMin: 1,
  buttonsMax: 3,
  buttonTitle: 20,
  buttonId: 256,
  listButton: 20,
  listSectionsMax: 10,
  listRowsMax: 10,
  listSectionTitle: 24,
  rowId: 200,
  rowTitle: 24,
  rowDescription: 72,
  templateName: 512,
  bizOpaqueCallbackData: 512,
  /** An emoji with modifiers / ZWJ sequences stays well under this many UTF-16 units. */
  reactionEmoji: 32,
  locationText: 1000,
} as const;

/** Media kinds that may carry a caption (audio and stickers may not). */
export const CAPTION_MEDIA = new Set(['image', 'video', 'document']);
