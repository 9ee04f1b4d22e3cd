import { randomBytes } from 'node:crypto';
import { hmac } from '../../core/signatures.js';
import type { SimResponse } from '../simulator-kit.js';
import type { SimError } from './sim-validate.js';

/** Payload builders for the Cloud API simulator: Graph error envelopes and Meta-shaped webhooks. */

export interface SimPhone {
  phoneNumberId: string;
  wabaId: string;
  accessToken: string;
  displayPhoneNumber: string;
  verifiedName: string;
}

export function graphError(e: SimError, headers?: Record<string, string>): SimResponse {
  const error: Record<string, unknown> = {
    message: e.message,
    type: e.code === 100 && e.subcode === 33 ? 'GraphMethodException' : 'OAuthException',
    code: e.code,
  };
  // Auth errors (190) carry no error_data; WhatsApp errors do (error_132001_template_not_found.json).
  if (e.details) error.error_data = { messaging_product: 'whatsapp', details: e.details };
  if (e.subcode !== undefined) error.error_subcode = e.subcode;
  error.fbtrace_id = `A${randomBytes(12).toString('base64url')}`;
  return { status: e.status, json: { error }, ...(headers ? { headers } : {}) };
}

/** `sha256=<hex>` over the exact bytes posted, as Meta signs with the app secret. */
export function signBody(body: string, appSecret: string): string {
  return `sha256=${hmac('sha256', appSecret, body, 'hex')}`;
}

export function newWamid(to: string): string {
  // Real ids are base64 of an internal structure starting with the recipient; the shape is kept.
  return `wamid.HBgL${Buffer.from(`${to.replace(/[^0-9A-Za-z]/g, '').slice(0, 15)}${randomBytes(9).toString('hex').toUpperCase()}`).toString('base64')}`;
}

function envelope(
  phone: SimPhone,
  value: Record<string, unknown>,
  field = 'messages',
): Record<string, unknown> {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: phone.wabaId,
        changes: [{ value: { messaging_product: 'whatsapp', metadata: metadata(phone), ...value }, field }],
      },
    ],
  };
}

function metadata(phone: SimPhone): Record<string, string> {
  return {
    display_phone_number: phone.displayPhoneNumber.replace(/[^0-9]/g, ''),
    phone_number_id: phone.phoneNumberId,
  };
}

export interface StatusSpec {
  wamid: string;
  status: 'sent' | 'delivered' | 'read' | 'failed';
  /** `to` digits, BSUID (`recipient`), or group id. */
  recipient: { to?: string; userId?: string; groupId?: string };
  timestamp: number;
  bizOpaque?: string;
  errorCode?: number;
}

const ASYNC_ERRORS: Record<number, { title: string; details: string }> = {
  131047: {
    title: 'Re-engagement message',
    details:
      'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
  },
  131026: { title: 'Message undeliverable', details: 'Message Undeliverable.' },
  131049: {
    title: 'This message was not delivered to maintain healthy ecosystem engagement.',
    details: 'Marketing message limit for this user.',
  },
  131050: {
    title:
      'Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.',
    details: 'User stopped marketing messages.',
  },
  130429: { title: 'Rate limit hit', details: 'Cloud API message throughput has been reached.' },
};

export function statusPayload(phone: SimPhone, s: StatusSpec): Record<string, unknown> {
  const st: Record<string, unknown> = { id: s.wamid, status: s.status, timestamp: String(s.timestamp) };
  if (s.recipient.groupId) Object.assign(st, { recipient_id: s.recipient.groupId, recipient_type: 'group' });
  else if (s.recipient.to) st.recipient_id = s.recipient.to;
  else if (s.recipient.userId) st.recipient_user_id = s.recipient.userId;
  if (s.bizOpaque !== undefined) st.biz_opaque_callback_data = s.bizOpaque;
  if (s.status === 'failed') {
    const code = s.errorCode ?? 131026;
    const e = ASYNC_ERRORS[code] ?? { title: 'Failed', details: `error ${code}` };
    st.errors = [
      {
        code,
        title: e.title,
        message: e.title,
        error_data: { details: e.details },
        href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/',
      },
    ];
  } else {
    // Per-message pricing (PMP, since July 2025): no conversation object required.
    st.pricing = { billable: true, pricing_model: 'PMP', category: 'utility', type: 'regular' };
  }
  return envelope(phone, { statuses: [st] });
}

/** One inbound message for `sendInbound`: a text by default; any Meta type via `type` + `body`. */
export interface SimInbound {
  phoneNumberId?: string;
  /** Sender wa_id (digits). Defaults to 16505551234 unless only `userId` is given. */
  from?: string;
  /** Business-scoped user id; with no `from`, the sender has no phone number at all (2026 usernames). */
  userId?: string;
  name?: string;
  /** Cloud API group id: the message was posted in that group by `from`. */
  groupId?: string;
  id?: string;
  /** Unix seconds. */
  timestamp?: number;
  type?: string;
  text?: string;
  /** The object under the type's key, e.g. `{ id, mime_type, sha256 }` for an image. */
  body?: unknown;
  context?: { from?: string; id: string };
  /** Extra message fields (errors, referral…), merged last. */
  extra?: Record<string, unknown>;
}

export function inboundMessage(
  m: SimInbound,
  now: number,
): { message: Record<string, unknown>; contact?: Record<string, unknown> } {
  const type = m.type ?? 'text';
  const from = m.from ?? (m.userId ? undefined : '16505551234');
  const message: Record<string, unknown> = {};
  if (m.context) message.context = m.context;
  if (from) message.from = from;
  if (m.userId) message.from_user_id = m.userId;
  if (m.groupId) message.group_id = m.groupId;
  message.id = m.id ?? newWamid(from ?? m.userId ?? '');
  message.timestamp = String(m.timestamp ?? Math.floor(now / 1000));
  message.type = type;
  if (type === 'contacts') message.contacts = m.body ?? [];
  else if (m.body !== undefined || type === 'text') message[type] = m.body ?? { body: m.text ?? 'Hello' };
  Object.assign(message, m.extra);
  // System messages carry no contacts[] (Meta's schema; webhook_system_message.json).
  if (type === 'system') return { message };
  const contact: Record<string, unknown> = { profile: { name: m.name ?? 'Sim User' } };
  if (from) contact.wa_id = from;
  if (m.userId) contact.user_id = m.userId;
  return { message, contact };
}

/**
 * A batched delivery as Meta sends it: one entry per WABA, one change per line, every message of
 * that line in its `messages[]`. `splitChanges` gives each message its own change instead.
 */
export function inboundPayload(
  items: { phone: SimPhone; spec: SimInbound }[],
  now: number,
  splitChanges = false,
): Record<string, unknown> {
  const entries = new Map<
    string,
    { id: string; changes: Record<string, unknown>[]; byPhone: Map<string, Record<string, unknown>> }
  >();
  for (const { phone, spec } of items) {
    let entry = entries.get(phone.wabaId);
    if (!entry) entries.set(phone.wabaId, (entry = { id: phone.wabaId, changes: [], byPhone: new Map() }));
    let value = splitChanges ? undefined : entry.byPhone.get(phone.phoneNumberId);
    if (!value) {
      value = { messaging_product: 'whatsapp', metadata: metadata(phone), contacts: [], messages: [] };
      entry.changes.push({ value, field: 'messages' });
      entry.byPhone.set(phone.phoneNumberId, value);
    }
    const { message, contact } = inboundMessage(spec, now);
    (value.messages as unknown[]).push(message);
    const contacts = value.contacts as Record<string, unknown>[];
    if (contact && !contacts.some((c) => c.wa_id === contact.wa_id && c.user_id === contact.user_id))
      contacts.push(contact);
  }
  for (const e of entries.values()) {
    for (const c of e.changes) {
      const v = c.value as Record<string, unknown>;
      if ((v.contacts as unknown[]).length === 0) delete v.contacts;
    }
  }
  return {
    object: 'whatsapp_business_account',
    entry: [...entries.values()].map((e) => ({ id: e.id, changes: e.changes })),
  };
}

export const DEFAULT_PHONE: SimPhone = {
  phoneNumberId: '106540352242922',
  wabaId: '419561257915477',
  accessToken: 'EAAGsim-default-access-token',
  displayPhoneNumber: '+1 555-078-3881',
  verifiedName: 'Switchboard Simulator',
};

export const NOT_JSON_ERROR: SimError = {
  status: 400,
  code: 100,
  message: '(#100) The parameter messaging_product is required.',
  details: 'body must be JSON',
};

export const PAIR_RATE_ERROR: SimError = {
  status: 400,
  code: 131056,
  message: '(#131056) (Business Account, Consumer Account) pair rate limit hit',
  details:
    'Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.',
};

export const THROUGHPUT_ERROR: SimError = {
  status: 429,
  code: 130429,
  message: '(#130429) Rate limit hit',
  details: 'Cloud API message throughput has been reached.',
};

/** Graph's answer for an object that does not exist or that this token may not touch. */
export function unsupported(method: string, id: string): SimError {
  return {
    status: 400,
    code: 100,
    subcode: 33,
    message: `Unsupported ${method.toLowerCase()} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
    details: '',
  };
}

/** Meta's rate-limit usage header (OpenAPI `x-business-use-case-usage`) and a trace id. */
export function usageHeader(phone: SimPhone): Record<string, string> {
  const usage = {
    [phone.wabaId]: [
      {
        type: 'whatsapp',
        call_count: 1,
        total_cputime: 1,
        total_time: 1,
        estimated_time_to_regain_access: 0,
      },
    ],
  };
  return {
    'x-business-use-case-usage': JSON.stringify(usage),
    'x-fb-trace-id': randomBytes(8).toString('base64url'),
  };
}
