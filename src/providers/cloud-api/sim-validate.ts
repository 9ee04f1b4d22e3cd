import { isRecord } from '../http.js';
import { CAPTION_MEDIA, LIMITS } from './limits.js';

/**
 * What the simulator rejects on `POST /{phone-number-id}/messages`, the way Graph does: HTTP 400
 * with a `(#code) …` message and `error_data.details`. Required fields and the limits of
 * CONTRACTS.md §1.2; the adapter's own early validation must never let one of these through.
 */

export interface SimError {
  status: number;
  code: number;
  message: string;
  details: string;
  subcode?: number;
}

export interface SimTemplate {
  id: string;
  name: string;
  language: string;
  status: string;
  category: string;
  components: Record<string, unknown>[];
}

export interface SendEnv {
  mediaKnown(id: string): boolean;
  template(name: string, language: string): SimTemplate | undefined;
}

const MEDIA = new Set(['image', 'video', 'audio', 'document', 'sticker']);
const TYPES = new Set([...MEDIA, 'text', 'location', 'contacts', 'reaction', 'template', 'interactive']);

const missing = (param: string): SimError => ({
  status: 400,
  code: 100,
  message: `(#100) The parameter ${param} is required.`,
  details: `The parameter ${param} is required.`,
});
const invalid = (details: string): SimError => ({
  status: 400,
  code: 131009,
  message: '(#131009) Parameter value is not valid',
  details,
});
const badParam = (details: string): SimError => ({
  status: 400,
  code: 100,
  message: '(#100) Invalid parameter',
  details,
});

const isStr = (v: unknown): v is string => typeof v === 'string';
const chars = (s: string) => [...s].length;

function text(v: unknown, param: string, max: number, required = true): SimError | undefined {
  if (v === undefined) return required ? missing(param) : undefined;
  if (!isStr(v) || (required && v.trim().length === 0))
    return required ? missing(param) : badParam(`${param} must be a string`);
  if (chars(v) > max) return invalid(`${param} must be at most ${max} characters long`);
  return undefined;
}

/** Recipient rules: `to` (digits, + optional) or `recipient` (BSUID) for individuals, `to` = group id for groups. */
export function checkRecipient(b: Record<string, unknown>): SimError | undefined {
  const rt = b.recipient_type ?? 'individual';
  if (rt !== 'individual' && rt !== 'group') return badParam('recipient_type must be individual or group');
  if (b.to === undefined && b.recipient === undefined) return missing('to');
  if (rt === 'group') {
    return isStr(b.to) && /^[A-Za-z0-9+/=_-]{8,256}$/.test(b.to)
      ? undefined
      : badParam('to must be a group id');
  }
  if (b.to !== undefined) {
    const digits = isStr(b.to) ? b.to.replace(/[^0-9]/g, '') : '';
    if (!isStr(b.to) || !/^\+?[0-9 ()-]+$/.test(b.to) || digits.length < 7 || digits.length > 15)
      return badParam('to is not a valid phone number');
  }
  if (b.recipient !== undefined && !(isStr(b.recipient) && /^[A-Za-z0-9._-]{4,100}$/.test(b.recipient))) {
    return badParam('recipient is not a valid business-scoped user id');
  }
  return undefined;
}

export function validateSendBody(b: Record<string, unknown>, env: SendEnv): SimError | undefined {
  if (b.messaging_product !== 'whatsapp')
    return b.messaging_product === undefined
      ? missing('messaging_product')
      : badParam('messaging_product must be whatsapp');
  const r = checkRecipient(b);
  if (r) return r;
  // Graph's documented default: a body without `type` is a text message.
  const type = b.type ?? 'text';
  if (!isStr(type) || !TYPES.has(type))
    return badParam(`Param type must be one of {${[...TYPES].join(', ')}}`);
  const obj = b[type];
  if (type === 'contacts' ? !Array.isArray(obj) : !isRecord(obj)) return missing(type);
  if (
    b.context !== undefined &&
    !(isRecord(b.context) && isStr(b.context.message_id) && b.context.message_id.length > 0)
  ) {
    return missing("context['message_id']");
  }
  // A reaction names its message itself; a reply context on it is refused.
  if (type === 'reaction' && b.context !== undefined) return badParam('context is not supported for reaction messages');
  if (b.biz_opaque_callback_data !== undefined) {
    if (
      !isStr(b.biz_opaque_callback_data) ||
      Buffer.byteLength(b.biz_opaque_callback_data) > LIMITS.bizOpaqueCallbackData
    ) {
      return invalid(
        `biz_opaque_callback_data must be a string of at most ${LIMITS.bizOpaqueCallbackData} bytes`,
      );
    }
  }
  if (MEDIA.has(type)) return checkMedia(type, obj as Record<string, unknown>, env);
  switch (type) {
    case 'text': {
      const t = obj as Record<string, unknown>;
      if (t.preview_url !== undefined && typeof t.preview_url !== 'boolean')
        return badParam("text['preview_url'] must be a boolean");
      return text(t.body, "text['body']", LIMITS.textBody);
    }
    case 'location': {
      const l = obj as Record<string, unknown>;
      const lat = Number(l.latitude);
      const lng = Number(l.longitude);
      if (l.latitude === undefined) return missing("location['latitude']");
      if (l.longitude === undefined) return missing("location['longitude']");
      if (!Number.isFinite(lat) || Math.abs(lat) > 90 || !Number.isFinite(lng) || Math.abs(lng) > 180)
        return invalid('latitude/longitude out of range');
      return undefined;
    }
    case 'contacts': {
      const list = obj as unknown[];
      if (list.length === 0) return missing('contacts');
      for (const [i, c] of list.entries()) {
        if (
          !isRecord(c) ||
          !isRecord(c.name) ||
          !isStr(c.name.formatted_name) ||
          c.name.formatted_name.length === 0
        ) {
          return missing(`contacts[${i}]['name']['formatted_name']`);
        }
      }
      return undefined;
    }
    case 'reaction': {
      const x = obj as Record<string, unknown>;
      if (!isStr(x.message_id) || x.message_id.length === 0) return missing("reaction['message_id']");
      if (!isStr(x.emoji)) return missing("reaction['emoji']");
      return x.emoji.length > LIMITS.reactionEmoji ? invalid('emoji must be a single emoji') : undefined;
    }
    case 'template':
      return checkTemplate(obj as Record<string, unknown>, env);
    case 'interactive':
      return checkInteractive(obj as Record<string, unknown>);
  }
  return undefined;
}

function checkMedia(type: string, m: Record<string, unknown>, env: SendEnv): SimError | undefined {
  const hasId = m.id !== undefined;
  const hasLink = m.link !== undefined;
  if (hasId === hasLink) return badParam(`${type} needs exactly one of 'id' or 'link'`);
  if (hasId && !(isStr(m.id) && env.mediaKnown(m.id)))
    return badParam(`${type}['id'] is not a valid media id`);
  if (hasLink && !(isStr(m.link) && /^https?:\/\/\S+$/i.test(m.link)))
    return invalid(`${type}['link'] must be an http(s) URL`);
  if (m.caption !== undefined) {
    if (!CAPTION_MEDIA.has(type)) return badParam(`Param ${type}['caption'] is not a valid parameter`);
    const e = text(m.caption, `${type}['caption']`, LIMITS.caption, false);
    if (e) return e;
  }
  if (m.filename !== undefined && type !== 'document')
    return badParam(`Param ${type}['filename'] is not a valid parameter`);
  return undefined;
}

function checkTemplate(t: Record<string, unknown>, env: SendEnv): SimError | undefined {
  if (!isStr(t.name) || t.name.length === 0) return missing("template['name']");
  const lang = isRecord(t.language) ? t.language.code : undefined;
  if (!isStr(lang) || lang.length === 0) return missing("template['language']['code']");
  if (t.components !== undefined && !Array.isArray(t.components))
    return badParam("template['components'] must be an array");
  const tpl = env.template(t.name, lang);
  if (!tpl || tpl.status !== 'APPROVED') {
    return {
      status: 404,
      code: 132001,
      subcode: 2494073,
      message: '(#132001) Template name does not exist in the translation',
      details: `template name (${t.name}) does not exist in ${lang}`,
    };
  }
  // Body placeholders {{1}}…{{n}} must each get one parameter.
  const bodyText = tpl.components.find((c) => String(c.type).toUpperCase() === 'BODY')?.text;
  const want = isStr(bodyText) ? new Set(bodyText.match(/\{\{\s*\w+\s*\}\}/g) ?? []).size : 0;
  const bodyComp = (Array.isArray(t.components) ? t.components : []).find(
    (c) => isRecord(c) && c.type === 'body',
  );
  const got = isRecord(bodyComp) && Array.isArray(bodyComp.parameters) ? bodyComp.parameters.length : 0;
  if (want !== got) {
    return {
      status: 400,
      code: 132000,
      message: '(#132000) Number of parameters does not match the expected number of params',
      details: `body: number of localizable_params (${got}) does not match the expected number of params (${want})`,
    };
  }
  return undefined;
}

/** The interactive kinds Graph knows; any other is refused (#100), as Graph refuses it. */
const INTERACTIVE_TYPES = new Set(['button', 'list', 'cta_url', 'flow', 'product', 'product_list', 'catalog_message', 'location_request_message', 'address_message', 'call_permission_request', 'voice_call']);

function checkInteractive(it: Record<string, unknown>): SimError | undefined {
  const kind = it.type;
  if (!isStr(kind)) return missing("interactive['type']");
  if (!INTERACTIVE_TYPES.has(kind)) return badParam(`Param interactive['type'] must be one of {${[...INTERACTIVE_TYPES].join(', ')}}`);
  if (!isRecord(it.body)) return missing("interactive['body']");
  const e =
    text(it.body.text, "interactive['body']['text']", LIMITS.interactiveBody) ??
    (isRecord(it.footer)
      ? text(it.footer.text, "interactive['footer']['text']", LIMITS.interactiveFooter)
      : undefined) ??
    (isRecord(it.header) && it.header.type === 'text'
      ? text(it.header.text, "interactive['header']['text']", LIMITS.interactiveHeader)
      : undefined);
  if (e) return e;
  if (!isRecord(it.action)) return missing("interactive['action']");
  if (kind === 'button') return checkButtons(it.action.buttons);
  if (kind === 'list') return checkList(it.action);
  return undefined; // cta_url, flow, product…: not modelled beyond the common parts
}

function checkButtons(buttons: unknown): SimError | undefined {
  if (!Array.isArray(buttons) || buttons.length < LIMITS.buttonsMin || buttons.length > LIMITS.buttonsMax) {
    return invalid(`action['buttons'] must have ${LIMITS.buttonsMin} to ${LIMITS.buttonsMax} buttons`);
  }
  const ids = new Set<unknown>();
  const titles = new Set<unknown>();
  for (const [i, b] of buttons.entries()) {
    if (!isRecord(b) || b.type !== 'reply' || !isRecord(b.reply))
      return missing(`action['buttons'][${i}]['reply']`);
    const err =
      text(b.reply.id, `buttons[${i}]['reply']['id']`, LIMITS.buttonId) ??
      text(b.reply.title, `buttons[${i}]['reply']['title']`, LIMITS.buttonTitle);
    if (err) return err;
    ids.add(b.reply.id);
    titles.add(b.reply.title);
  }
  if (ids.size !== buttons.length || titles.size !== buttons.length)
    return invalid('button ids and titles must be unique');
  return undefined;
}

function checkList(action: Record<string, unknown>): SimError | undefined {
  const e = text(action.button, "action['button']", LIMITS.listButton);
  if (e) return e;
  const sections = action.sections;
  if (!Array.isArray(sections) || sections.length === 0 || sections.length > LIMITS.listSectionsMax) {
    return invalid(`action['sections'] must have 1 to ${LIMITS.listSectionsMax} sections`);
  }
  let rows = 0;
  for (const [i, s] of sections.entries()) {
    if (!isRecord(s) || !Array.isArray(s.rows) || s.rows.length === 0)
      return missing(`sections[${i}]['rows']`);
    const te = text(s.title, `sections[${i}]['title']`, LIMITS.listSectionTitle, sections.length > 1);
    if (te) return te;
    for (const [j, row] of s.rows.entries()) {
      rows += 1;
      if (!isRecord(row)) return missing(`sections[${i}]['rows'][${j}]`);
      const re =
        text(row.id, `rows[${j}]['id']`, LIMITS.rowId) ??
        text(row.title, `rows[${j}]['title']`, LIMITS.rowTitle) ??
        text(row.description, `rows[${j}]['description']`, LIMITS.rowDescription, false);
      if (re) return re;
    }
  }
  return rows > LIMITS.listRowsMax
    ? invalid(`a list can have at most ${LIMITS.listRowsMax} rows`)
    : undefined;
}

/** Mark-as-read (+ optional typing indicator) on the same endpoint as sends. */
export function validateMarkRead(b: Record<string, unknown>): SimError | undefined {
  if (b.messaging_product !== 'whatsapp') return missing('messaging_product');
  if (b.status !== 'read') return badParam('status must be read');
  if (!isStr(b.message_id) || !b.message_id.startsWith('wamid.'))
    return badParam('message_id must be a wamid');
  const t = b.typing_indicator;
  if (t !== undefined && !(isRecord(t) && t.type === 'text'))
    return badParam("typing_indicator['type'] must be text");
  return undefined;
}
