import type { ListSection, OutboundContent, ReplyButton } from '../../core/canonical.js';
import { CAPTION_MEDIA, LIMITS } from './limits.js';

/**
 * Checks canonical content against the Cloud API's limits before anything is queued or sent, so the
 * API can answer 422 at once instead of failing a delivery job later. Returns human-readable
 * problems, empty when the content is fine.
 */
export function validateContent(content: OutboundContent): string[] {
  const p: string[] = [];
  const len = (s: string | undefined) => (s === undefined ? 0 : [...s].length);
  const maxLen = (field: string, s: string | undefined, max: number) => {
    if (s !== undefined && len(s) > max) p.push(`${field} is longer than ${max} characters`);
  };
  const required = (field: string, s: string | undefined) => {
    if (typeof s !== 'string' || s.trim().length === 0) p.push(`${field} is required`);
  };

  switch (content.type) {
    case 'text':
      required('text', content.text);
      maxLen('text', content.text, LIMITS.textBody);
      break;
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker': {
      const m = content.media as { url?: unknown; id?: unknown };
      if (typeof m.url === 'string') {
        if (!/^https?:\/\/\S+$/i.test(m.url)) p.push('media.url must be an http(s) URL');
      } else if (typeof m.id === 'string') {
        if (m.id.trim().length === 0) p.push('media.id is required');
      } else {
        p.push('media needs a url or an id');
      }
      if (content.caption !== undefined && !CAPTION_MEDIA.has(content.type))
        p.push(`${content.type} cannot have a caption`);
      maxLen('caption', content.caption, LIMITS.caption);
      maxLen('filename', content.filename, LIMITS.filename);
      break;
    }
    case 'location':
      if (!Number.isFinite(content.latitude) || Math.abs(content.latitude) > 90)
        p.push('latitude must be between -90 and 90');
      if (!Number.isFinite(content.longitude) || Math.abs(content.longitude) > 180)
        p.push('longitude must be between -180 and 180');
      maxLen('name', content.name, LIMITS.locationText);
      maxLen('address', content.address, LIMITS.locationText);
      break;
    case 'contacts':
      if (!Array.isArray(content.contacts) || content.contacts.length === 0)
        p.push('contacts needs at least one contact');
      else content.contacts.forEach((c, i) => required(`contacts[${i}].name.formatted`, c?.name?.formatted));
      break;
    case 'reaction':
      required('messageId', content.messageId);
      if (typeof content.emoji !== 'string') p.push('emoji must be a string ("" removes the reaction)');
      else if (content.emoji !== '' && !isEmoji(content.emoji)) p.push('emoji must be a single emoji or ""');
      break;
    case 'template':
      required('template name', content.name);
      maxLen('template name', content.name, LIMITS.templateName);
      required('template language', content.language);
      if (content.components !== undefined && !Array.isArray(content.components))
        p.push('template components must be an array');
      break;
    case 'interactive': {
      const it = content.interactive;
      required('interactive body', it.body);
      maxLen('interactive body', it.body, LIMITS.interactiveBody);
      maxLen('interactive header', it.header, LIMITS.interactiveHeader);
      maxLen('interactive footer', it.footer, LIMITS.interactiveFooter);
      if (it.kind === 'buttons') checkButtons(it.buttons, p, maxLen, required);
      else if (it.kind === 'list') {
        required('list buttonText', it.buttonText);
        maxLen('list buttonText', it.buttonText, LIMITS.listButton);
        checkSections(it.sections, p, maxLen, required);
      } else p.push('interactive kind must be buttons or list');
      break;
    }
    default:
      p.push(`content type ${(content as { type: string }).type} is not supported by the Cloud API`);
  }
  return p;
}

type Check = (field: string, s: string | undefined, max: number) => void;
type Req = (field: string, s: string | undefined) => void;

function checkButtons(buttons: ReplyButton[], p: string[], maxLen: Check, required: Req): void {
  if (!Array.isArray(buttons) || buttons.length < LIMITS.buttonsMin || buttons.length > LIMITS.buttonsMax) {
    p.push(`buttons must have ${LIMITS.buttonsMin} to ${LIMITS.buttonsMax} entries`);
    return;
  }
  buttons.forEach((b, i) => {
    required(`buttons[${i}].id`, b?.id);
    maxLen(`buttons[${i}].id`, b?.id, LIMITS.buttonId);
    required(`buttons[${i}].title`, b?.title);
    maxLen(`buttons[${i}].title`, b?.title, LIMITS.buttonTitle);
  });
  if (new Set(buttons.map((b) => b?.id)).size !== buttons.length) p.push('button ids must be unique');
  if (new Set(buttons.map((b) => b?.title)).size !== buttons.length) p.push('button titles must be unique');
}

function checkSections(sections: ListSection[], p: string[], maxLen: Check, required: Req): void {
  if (!Array.isArray(sections) || sections.length === 0 || sections.length > LIMITS.listSectionsMax) {
    p.push(`list must have 1 to ${LIMITS.listSectionsMax} sections`);
    return;
  }
  let rows = 0;
  const ids = new Set<string>();
  sections.forEach((s, i) => {
    if (sections.length > 1) required(`sections[${i}].title`, s?.title);
    maxLen(`sections[${i}].title`, s?.title, LIMITS.listSectionTitle);
    if (!Array.isArray(s?.rows) || s.rows.length === 0) {
      p.push(`sections[${i}] needs at least one row`);
      return;
    }
    s.rows.forEach((r, j) => {
      rows += 1;
      required(`sections[${i}].rows[${j}].id`, r?.id);
      maxLen(`sections[${i}].rows[${j}].id`, r?.id, LIMITS.rowId);
      required(`sections[${i}].rows[${j}].title`, r?.title);
      maxLen(`sections[${i}].rows[${j}].title`, r?.title, LIMITS.rowTitle);
      maxLen(`sections[${i}].rows[${j}].description`, r?.description, LIMITS.rowDescription);
      if (r?.id !== undefined) {
        if (ids.has(r.id)) p.push(`row id ${r.id} is used twice`);
        ids.add(r.id);
      }
    });
  });
  if (rows > LIMITS.listRowsMax) p.push(`list must have at most ${LIMITS.listRowsMax} rows in total`);
}

/** Emoji characters, joiners, variation selectors and keycaps only; bare digits/#/* are not emoji. */
export function isEmoji(s: string): boolean {
  return (
    s.length <= LIMITS.reactionEmoji && /^[\p{Emoji}\u200d\ufe0f\u20e3]+$/u.test(s) && !/^[0-9#*]+$/.test(s)
  );
}
