import { isRecord } from '../http.js';
import type { SimResponse } from '../simulator-kit.js';

/**
 * Request validation the way WAHA's NestJS ValidationPipe answers it: HTTP 400
 * `{statusCode: 400, message: ["<field> must be …", …], error: "Bad Request"}`, every problem at
 * once. Field rules come from the OpenAPI `required` lists of WAHA 2026.7.1.
 */

export const badRequest = (message: string[]): SimResponse => ({ status: 400, json: { statusCode: 400, message, error: 'Bad Request' } });
export const notFound = (message: string): SimResponse => ({ status: 404, json: { statusCode: 404, message, error: 'Not Found' } });
export const unprocessable = (message: string): SimResponse => ({ status: 422, json: { statusCode: 422, message, error: 'Unprocessable Entity' } });
export const UNAUTHORIZED: SimResponse = { status: 401, json: { message: 'Unauthorized', statusCode: 401 } };

/** `<digits>@c.us`, `<id>@g.us`, `<digits>@lid`, `<id>@newsletter` — what WAHA can send to. */
export const CHAT_ID = /^(\d{5,20}@c\.us|[\d-]{5,64}@g\.us|\d{5,20}@lid|\d{5,40}@newsletter)$/;

export class Check {
  readonly errors: string[] = [];
  constructor(readonly body: Record<string, unknown>) {}

  string(field: string, opts: { optional?: boolean; nonEmpty?: boolean } = {}): this {
    const v = this.body[field];
    if (v === undefined && opts.optional) return this;
    if (typeof v !== 'string') this.errors.push(`${field} must be a string`);
    else if (opts.nonEmpty && v.length === 0) this.errors.push(`${field} should not be empty`);
    return this;
  }

  number(field: string): this {
    const v = this.body[field];
    if (typeof v !== 'number' || !Number.isFinite(v)) this.errors.push(`${field} must be a number conforming to the specified constraints`);
    return this;
  }

  boolean(field: string, optional = true): this {
    const v = this.body[field];
    if (v === undefined && optional) return this;
    if (typeof v !== 'boolean') this.errors.push(`${field} must be a boolean value`);
    return this;
  }

  chatId(): this {
    const v = this.body.chatId;
    if (typeof v !== 'string') this.errors.push('chatId must be a string');
    else if (!CHAT_ID.test(v)) this.errors.push('chatId must be a WhatsApp chat id like 11111111111@c.us or 123123@g.us');
    return this;
  }

  /** RemoteFile `{mimetype, url, filename?}` or BinaryFile `{mimetype, data (base64), filename?}`. */
  file(field = 'file', opts: { filenameRequired?: boolean } = {}): this {
    const f = this.body[field];
    if (!isRecord(f)) {
      this.errors.push(`${field} must be an object`);
      return this;
    }
    if (typeof f.mimetype !== 'string' || !f.mimetype) this.errors.push(`${field}.mimetype must be a string`);
    const hasUrl = typeof f.url === 'string' && /^https?:\/\/\S+$/.test(f.url);
    const hasData = typeof f.data === 'string' && /^[A-Za-z0-9+/=\s]+$/.test(f.data);
    if (!hasUrl && !hasData) this.errors.push(`${field}.url must be a URL address`);
    if (f.filename !== undefined && f.filename !== null && typeof f.filename !== 'string') this.errors.push(`${field}.filename must be a string`);
    if (opts.filenameRequired && typeof f.filename !== 'string') this.errors.push(`${field}.filename must be a string`);
    return this;
  }

  contacts(): this {
    const list = this.body.contacts;
    if (!Array.isArray(list) || list.length === 0) {
      this.errors.push('contacts must be a non-empty array');
      return this;
    }
    list.forEach((c, i) => {
      const vcard = isRecord(c) && typeof c.vcard === 'string' && /BEGIN:VCARD[\s\S]*END:VCARD/.test(c.vcard);
      const plain = isRecord(c) && typeof c.fullName === 'string' && typeof c.phoneNumber === 'string';
      if (!vcard && !plain) this.errors.push(`contacts.${i} must be a VCardContact {vcard} or a Contact {fullName, phoneNumber}`);
    });
    return this;
  }

  list(): this {
    const m = this.body.message;
    if (!isRecord(m)) {
      this.errors.push('message must be an object');
      return this;
    }
    if (typeof m.title !== 'string') this.errors.push('message.title must be a string');
    if (typeof m.button !== 'string') this.errors.push('message.button must be a string');
    if (!Array.isArray(m.sections) || m.sections.length === 0) {
      this.errors.push('message.sections must be a non-empty array');
      return this;
    }
    m.sections.forEach((s, i) => {
      if (!isRecord(s) || typeof s.title !== 'string') this.errors.push(`message.sections.${i}.title must be a string`);
      const rows = isRecord(s) ? s.rows : undefined;
      if (!Array.isArray(rows) || rows.length === 0) this.errors.push(`message.sections.${i}.rows must be a non-empty array`);
      else
        rows.forEach((r, j) => {
          if (!isRecord(r) || typeof r.title !== 'string') this.errors.push(`message.sections.${i}.rows.${j}.title must be a string`);
          if (!isRecord(r) || typeof r.rowId !== 'string') this.errors.push(`message.sections.${i}.rows.${j}.rowId must be a string`);
        });
    });
    return this;
  }

  /** `config.webhooks[]` of a session create/update: each needs a URL and an events array. */
  webhooks(): this {
    const cfg = this.body.config;
    if (cfg === undefined) return this;
    if (!isRecord(cfg)) {
      this.errors.push('config must be an object');
      return this;
    }
    if (cfg.webhooks === undefined) return this;
    if (!Array.isArray(cfg.webhooks)) {
      this.errors.push('config.webhooks must be an array');
      return this;
    }
    cfg.webhooks.forEach((w, i) => {
      if (!isRecord(w) || typeof w.url !== 'string' || !/^https?:\/\/\S+$/.test(w.url)) this.errors.push(`config.webhooks.${i}.url must be a URL address`);
      if (!isRecord(w) || !Array.isArray(w.events)) this.errors.push(`config.webhooks.${i}.events must be an array`);
      const r = isRecord(w) ? w.retries : undefined;
      if (isRecord(r) && r.policy !== undefined && !['linear', 'exponential', 'constant'].includes(String(r.policy))) {
        this.errors.push(`config.webhooks.${i}.retries.policy must be one of the following values: linear, exponential, constant`);
      }
    });
    return this;
  }

  result(): SimResponse | undefined {
    return this.errors.length ? badRequest(this.errors) : undefined;
  }
}

/** The 422 WAHA answers when a session is not in the status an operation needs (real body, issue #1329). */
export function statusNotExpected(session: string, status: string, expected: string[]): SimResponse {
  return {
    status: 422,
    json: { error: 'Session status is not as expected. Try again later or restart the session', session, status, expected },
  };
}
