/**
 * Minimal valid request bodies generated from an OpenAPI (JSON Schema) request schema, so tests
 * that sweep every route get past validation and reach the handler. Known-tricky routes get a
 * hand-written body in SAMPLES.
 */
const SAMPLES: Record<string, unknown> = {
  'patch /v1/channels/{channelId}': { name: 'renamed' },
  'patch /v1/members/{userId}': { role: 'viewer' },
  'patch /v1/conversations/{conversationId}': { status: 'closed' },
  'patch /v1/webhook-endpoints/{endpointId}': { description: 'x' },
  'post /v1/channels/{channelId}/sandbox/reply': { from: '+14155552671', text: 'hi' },
};

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  items?: Schema;
  format?: string;
  minimum?: number;
  minItems?: number;
  minLength?: number;
  default?: unknown;
  examples?: unknown[];
};

export function sample(schema: Schema): unknown {
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  if (schema.default !== undefined) return schema.default;
  if (schema.examples?.length) return schema.examples[0];
  const alt = schema.anyOf ?? schema.oneOf;
  if (alt) return sample(alt[0]!);
  if (schema.allOf) return Object.assign({}, ...schema.allOf.map((s) => sample(s) as object));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const k of schema.required ?? []) out[k] = sample(schema.properties?.[k] ?? {});
      return out;
    }
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => sample(schema.items ?? {}));
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'string':
      if (schema.format === 'email') return 'sample@example.com';
      if (schema.format === 'date-time') return new Date(Date.now() + 86_400_000).toISOString();
      if (schema.format === 'uri') return 'https://example.com/x';
      return 'x'.repeat(Math.max(1, schema.minLength ?? 1));
    default:
      return {};
  }
}

export function sampleBody(method: string, path: string, schema: unknown): unknown {
  const key = `${method} ${path}`;
  return key in SAMPLES ? SAMPLES[key] : sample(schema as Schema);
}
