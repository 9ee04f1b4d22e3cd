import { normalizeAddress } from '../../core/address.js';
import type { OutboundContent } from '../../core/canonical.js';
import { isRecord } from '../http.js';

/**
 * What the sandbox refuses, mirroring WhatsApp's own limits (CONTRACTS §1.2, from
 * whatsapp-api-js): text ≤ 4096, captions ≤ 1024, interactive body ≤ 1024, header/footer ≤ 60,
 * 1–3 reply buttons (title ≤ 20, id ≤ 256, unique), lists ≤ 10 sections/rows (row title ≤ 24,
 * description ≤ 72, button ≤ 20). A newcomer's mistake fails here the way it would in production.
 */
export class Invalid extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function need(cond: unknown, field: string, message: string): asserts cond {
  if (!cond) throw new Invalid(field, message);
}

function text(v: unknown, field: string, max: number, min = 1): string {
  need(typeof v === 'string', field, 'must be a string');
  const len = [...(v as string)].length;
  need(len >= min && len <= max, field, min > 0 ? `must be 1–${max} characters` : `must be at most ${max} characters`);
  return v as string;
}

function optText(v: unknown, field: string, max: number): void {
  if (v !== undefined) text(v, field, max, 0);
}

function media(c: Record<string, unknown>): void {
  const m = c.media;
  need(isRecord(m), 'content.media', 'is required');
  if (m.url !== undefined) need(typeof m.url === 'string' && /^https?:\/\/\S+$/.test(m.url), 'content.media.url', 'must be an http(s) URL');
  else need(typeof m.id === 'string' && m.id.length > 0, 'content.media', 'needs a url or an id');
  optText(c.caption, 'content.caption', 1024);
  optText(c.filename, 'content.filename', 240);
  need(!(c.type === 'sticker' || c.type === 'audio') || c.caption === undefined, 'content.caption', `not allowed on ${String(c.type)}`);
}

function unique(values: string[], field: string): void {
  need(new Set(values).size === values.length, field, 'must be unique');
}

function interactive(i: unknown): void {
  need(isRecord(i), 'content.interactive', 'is required');
  text(i.body, 'content.interactive.body', 1024);
  optText(i.header, 'content.interactive.header', 60);
  optText(i.footer, 'content.interactive.footer', 60);
  if (i.kind === 'buttons') {
    need(Array.isArray(i.buttons) && i.buttons.length >= 1 && i.buttons.length <= 3, 'content.interactive.buttons', 'needs 1–3 buttons');
    const buttons = i.buttons as unknown[];
    buttons.forEach((b, n) => {
      need(isRecord(b), `content.interactive.buttons[${n}]`, 'must be an object');
      text(b.id, `content.interactive.buttons[${n}].id`, 256);
      text(b.title, `content.interactive.buttons[${n}].title`, 20);
    });
    unique(buttons.map((b) => String((b as { id: string }).id)), 'content.interactive.buttons.id');
    unique(buttons.map((b) => String((b as { title: string }).title)), 'content.interactive.buttons.title');
    return;
  }
  need(i.kind === 'list', 'content.interactive.kind', 'must be buttons or list');
  text(i.buttonText, 'content.interactive.buttonText', 20);
  need(Array.isArray(i.sections) && i.sections.length >= 1 && i.sections.length <= 10, 'content.interactive.sections', 'needs 1–10 sections');
  let rows = 0;
  const ids: string[] = [];
  for (const [s, sec] of (i.sections as unknown[]).entries()) {
    need(isRecord(sec) && Array.isArray(sec.rows) && sec.rows.length >= 1, `content.interactive.sections[${s}].rows`, 'needs at least one row');
    optText(sec.title, `content.interactive.sections[${s}].title`, 24);
    for (const [r, row] of (sec.rows as unknown[]).entries()) {
      const f = `content.interactive.sections[${s}].rows[${r}]`;
      need(isRecord(row), f, 'must be an object');
      ids.push(text(row.id, `${f}.id`, 200));
      text(row.title, `${f}.title`, 24);
      optText(row.description, `${f}.description`, 72);
      rows++;
    }
  }
  need(rows <= 10, 'content.interactive.sections', 'at most 10 rows in total');
  unique(ids, 'content.interactive.sections.rows.id');
}

function content(c: unknown): OutboundContent {
  need(isRecord(c), 'content', 'is required');
  switch (c.type) {
    case 'text':
      text(c.text, 'content.text', 4096);
      break;
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker':
      media(c);
      break;
    case 'location':
      need(typeof c.latitude === 'number' && Math.abs(c.latitude) <= 90, 'content.latitude', 'must be a number in [-90, 90]');
      need(typeof c.longitude === 'number' && Math.abs(c.longitude) <= 180, 'content.longitude', 'must be a number in [-180, 180]');
      optText(c.name, 'content.name', 1000);
      optText(c.address, 'content.address', 1000);
      break;
    case 'contacts':
      need(Array.isArray(c.contacts) && c.contacts.length >= 1 && c.contacts.length <= 257, 'content.contacts', 'needs 1–257 contacts');
      (c.contacts as unknown[]).forEach((k, n) => need(isRecord(k) && isRecord(k.name) && typeof k.name.formatted === 'string' && k.name.formatted, `content.contacts[${n}].name.formatted`, 'is required'));
      break;
    case 'reaction':
      text(c.messageId, 'content.messageId', 256);
      need(typeof c.emoji === 'string' && [...c.emoji].length <= 10, 'content.emoji', 'must be one emoji or "" to remove');
      break;
    case 'template':
      need(typeof c.name === 'string' && /^[a-z0-9_]{1,512}$/.test(c.name), 'content.name', 'must be a template name (a-z, 0-9, _)');
      need(typeof c.language === 'string' && /^[a-z]{2,3}(_[A-Z]{2})?$/.test(c.language), 'content.language', 'must be a language code like en_US');
      need(c.components === undefined || Array.isArray(c.components), 'content.components', 'must be an array');
      break;
    case 'interactive':
      interactive(c.interactive);
      break;
    default:
      throw new Invalid('content.type', `unknown type ${JSON.stringify(c.type)}`);
  }
  return c as unknown as OutboundContent;
}

/**
 * The sandbox line's accept-time check (the provider's `checkContent`): what the sandbox server would
 * refuse is refused at accept with a 422, not queued to fail — a template name with capitals, a
 * language written out, a reaction of many emoji (review of 2026-12-01). The same rules as the server.
 */
export function checkSandboxContent(c: OutboundContent): string[] {
  try {
    content(c);
    return [];
  } catch (err) {
    if (err instanceof Invalid) return [`${err.field} ${err.message}`];
    throw err;
  }
}

/** Validates a send body; returns the canonical recipient and content. */
export function validateSend(body: unknown): { to: string; content: OutboundContent; replyTo?: string; clientRef?: string } {
  need(isRecord(body), 'body', 'must be a JSON object');
  need(typeof body.to === 'string', 'to', 'is required');
  const to = normalizeAddress(body.to as string);
  need(to, 'to', 'is not a WhatsApp address');
  need(body.replyTo === undefined || (typeof body.replyTo === 'string' && body.replyTo.length <= 256), 'replyTo', 'must be a message id');
  need(body.clientRef === undefined || (typeof body.clientRef === 'string' && body.clientRef.length >= 1 && body.clientRef.length <= 128), 'clientRef', 'must be 1–128 characters');
  return { to, content: content(body.content), replyTo: body.replyTo as string | undefined, clientRef: body.clientRef as string | undefined };
}
