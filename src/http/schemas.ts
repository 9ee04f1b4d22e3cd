import { Type, type TSchema, type TString } from '@sinclair/typebox';

/** Schemas shared by several feature route files. */
export const Problem = Type.Ref('Problem');
/** 429 and 503 say when to come back. */
const ProblemWithRetryAfter = {
  description: 'RFC 9457 problem document; `Retry-After` says in how many seconds to try again',
  headers: { 'Retry-After': Type.Integer({ minimum: 0, description: 'seconds' }) },
  content: { 'application/json': { schema: Problem } },
};
export const errorResponses = {
  400: Problem,
  401: Problem,
  403: Problem,
  404: Problem,
  409: Problem,
  413: Problem,
  415: Problem,
  422: Problem,
  429: ProblemWithRetryAfter,
  503: ProblemWithRetryAfter,
} as const;

/**
 * A response whose body is not (only) JSON, documented under its real media types — a CSV export, a
 * PNG, an event stream, a file — instead of as a JSON string. Fastify serialises by the reply's
 * content type, so a Buffer or text body goes out as given.
 */
export function bodyOf(description: string, content: Record<string, TSchema>): { description: string; content: Record<string, { schema: TSchema }> } {
  return { description, content: Object.fromEntries(Object.entries(content).map(([type, schema]) => [type, { schema }])) };
}
export const Binary = (description?: string) => Type.String({ format: 'binary', ...(description ? { description } : {}) });

/** A PostgreSQL `integer` column's values: larger ones were a 500 from the database. */
export const Int32 = (o: { minimum: number }) => Type.Integer({ ...o, maximum: 2_147_483_647 });

export const Limits = Type.Object({
  messages_per_day: Type.Union([Int32({ minimum: 0 }), Type.Null()]),
  messages_per_month: Type.Union([Int32({ minimum: 0 }), Type.Null()]),
  max_channels: Type.Union([Int32({ minimum: 0 }), Type.Null()]),
  api_requests_per_minute: Type.Union([Int32({ minimum: 0 }), Type.Null()]),
});
export const LimitsPatch = Type.Partial(Limits, { additionalProperties: false });

const Color = Type.String({ pattern: '^#[0-9a-fA-F]{6}$' });
export const Branding = Type.Object(
  {
    display_name: Type.Optional(Type.String({ maxLength: 100 })),
    logo_url: Type.Optional(Type.String({ format: 'uri', maxLength: 2000, pattern: '^https?://' })),
    primary_color: Type.Optional(Color),
    accent_color: Type.Optional(Color),
  },
  { additionalProperties: false },
);

export const Tenant = Type.Object({
  id: Type.String({ examples: ['ten_01JD2Y8Q0K6VJ4Q3M8W9Z7X5B1'] }),
  slug: Type.String(),
  name: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('suspended')]),
  plan: Type.String(),
  limits: Limits,
  limits_override: LimitsPatch,
  branding: Branding,
  created_at: Type.String({ format: 'date-time' }),
});

export const Slug = Type.String({ pattern: '^[a-z0-9](-?[a-z0-9])*$', minLength: 1, maxLength: 63 });
export const Name = Type.String({ minLength: 1, maxLength: 200 });
export const IdParam = <K extends string>(name: K, prefix: string) =>
  Type.Object({ [name]: Type.String({ pattern: `^${prefix}_[0-9A-Z]{26}$`, description: `\`${prefix}_…\` id` }) } as Record<K, TString>);
