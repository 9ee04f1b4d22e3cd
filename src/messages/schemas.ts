import { Type } from '@sinclair/typebox';
import { MEDIA_TYPES } from '../core/canonical.js';

/**
 * API schemas for outbound messages. Content is the canonical `OutboundContent` (src/core/canonical.ts);
 * the shape is checked here, the limits (lengths, counts) by the contracts' validator at accept.
 */
const Str = (max: number) => Type.String({ maxLength: max });
const MediaRef = Type.Union([
  Type.Object({ url: Str(2048), mimeType: Type.Optional(Str(255)) }, { additionalProperties: false }),
  Type.Object({ id: Str(256), mimeType: Type.Optional(Str(255)) }, { additionalProperties: false }),
]);
const Contact = Type.Object({
  name: Type.Object({ formatted: Str(512), first: Type.Optional(Str(256)), last: Type.Optional(Str(256)) }),
  phones: Type.Optional(Type.Array(Type.Object({ phone: Str(64), type: Type.Optional(Str(32)), waId: Type.Optional(Str(64)) }), { maxItems: 20 })),
  emails: Type.Optional(Type.Array(Type.Object({ email: Str(320), type: Type.Optional(Str(32)) }), { maxItems: 20 })),
  org: Type.Optional(Type.Object({ company: Type.Optional(Str(256)), title: Type.Optional(Str(256)) })),
});
const Button = Type.Object({ id: Str(256), title: Str(64) }, { additionalProperties: false });
const Section = Type.Object({ title: Type.Optional(Str(64)), rows: Type.Array(Type.Object({ id: Str(256), title: Str(64), description: Type.Optional(Str(256)) }), { maxItems: 20 }) });

export const Content = Type.Union(
  [
    Type.Object({ type: Type.Literal('text'), text: Str(8192), previewUrl: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
    Type.Object(
      { type: Type.Union(MEDIA_TYPES.map((t) => Type.Literal(t))), media: MediaRef, caption: Type.Optional(Str(4096)), filename: Type.Optional(Str(1024)) },
      { additionalProperties: false },
    ),
    Type.Object(
      { type: Type.Literal('location'), latitude: Type.Number(), longitude: Type.Number(), name: Type.Optional(Str(2000)), address: Type.Optional(Str(2000)) },
      { additionalProperties: false },
    ),
    Type.Object({ type: Type.Literal('contacts'), contacts: Type.Array(Contact, { minItems: 1, maxItems: 20 }) }, { additionalProperties: false }),
    Type.Object({ type: Type.Literal('reaction'), messageId: Str(256), emoji: Str(64) }, { additionalProperties: false }),
    Type.Object(
      { type: Type.Literal('template'), name: Str(512), language: Str(32), components: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 20 })) },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        type: Type.Literal('interactive'),
        interactive: Type.Union([
          Type.Object({ kind: Type.Literal('buttons'), body: Str(4096), header: Type.Optional(Str(256)), footer: Type.Optional(Str(256)), buttons: Type.Array(Button, { maxItems: 10 }) }, { additionalProperties: false }),
          Type.Object(
            { kind: Type.Literal('list'), body: Str(4096), header: Type.Optional(Str(256)), footer: Type.Optional(Str(256)), buttonText: Str(64), sections: Type.Array(Section, { maxItems: 20 }) },
            { additionalProperties: false },
          ),
        ]),
      },
      { additionalProperties: false },
    ),
  ],
  { description: 'Canonical outbound content; `type` selects the shape' },
);

export const SendBody = Type.Object(
  {
    channel_id: Type.String({ pattern: '^chn_[0-9A-Z]{26}$' }),
    to: Type.String({ minLength: 1, maxLength: 128, description: 'E.164 phone (+16505551234), WhatsApp id (…@c.us, …@g.us, …@lid) or bsuid:…' }),
    content: Content,
    reply_to: Type.Optional(Type.String({ maxLength: 256, description: 'Provider message id being replied to' })),
    metadata: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Union([Type.String({ maxLength: 500 }), Type.Number(), Type.Boolean()]), { maxProperties: 20 })),
  },
  { additionalProperties: false },
);

export const BatchBody = Type.Object({ messages: Type.Array(SendBody, { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false });

export const MessageStatusT = Type.Union(
  ['queued', 'sending', 'sent', 'delivered', 'read', 'played', 'failed', 'cancelled', 'received'].map((s) => Type.Literal(s)),
);

export const Accepted = Type.Object({ id: Type.String(), status: Type.Literal('queued'), conversation_id: Type.String(), to: Type.String() });
export const BatchAccepted = Type.Object({ data: Type.Array(Accepted) });

export const Message = Type.Object({
  id: Type.String(),
  channel_id: Type.String(),
  conversation_id: Type.String(),
  direction: Type.Union([Type.Literal('in'), Type.Literal('out')]),
  status: MessageStatusT,
  type: Type.String(),
  content: Type.Unknown(),
  peer: Type.String(),
  sender: Type.Union([Type.String(), Type.Null()]),
  provider_message_id: Type.Union([Type.String(), Type.Null()]),
  reply_to: Type.Union([Type.String(), Type.Null()]),
  error: Type.Union([Type.Object({ code: Type.String(), detail: Type.Union([Type.String(), Type.Null()]) }), Type.Null()]),
  attempts: Type.Integer(),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
  sent_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  delivered_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  read_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  failed_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
