import type { SimRequest, SimResponse } from '../simulator-kit.js';
import { graphError } from './sim-payloads.js';
import type { SimTemplate } from './sim-validate.js';

export type SimTemplateInput = Partial<SimTemplate> & { name: string; language: string; wabaId?: string };

export const HELLO_WORLD: SimTemplate = {
  id: '1192339204654487',
  name: 'hello_world',
  language: 'en_US',
  status: 'APPROVED',
  category: 'UTILITY',
  components: [
    { type: 'HEADER', format: 'TEXT', text: 'Hello World' },
    { type: 'BODY', text: 'Welcome and congratulations!!' },
  ],
};

/** Message templates per WABA, listed like `GET /{waba-id}/message_templates` with cursor paging. */
export class SimTemplateStore {
  private readonly all: (SimTemplate & { wabaId: string })[] = [];

  constructor(
    private readonly defaultWaba: string,
    /** Largest page served whatever `limit` asks; small values force paging in tests. */
    private readonly maxPage = 1000,
  ) {}

  add(t: SimTemplateInput): void {
    this.all.push({
      ...HELLO_WORLD,
      id: String(9_000_000_000_000 + this.all.length),
      wabaId: this.defaultWaba,
      ...t,
    });
  }

  find(wabaId: string, name: string, language: string): SimTemplate | undefined {
    return this.all.find((t) => t.wabaId === wabaId && t.name === name && t.language === language);
  }

  page(req: SimRequest, baseUrl: string): SimResponse {
    const waba = req.params.id ?? '';
    const name = req.query.name?.toLowerCase();
    const list = this.all.filter((t) => t.wabaId === waba && (!name || t.name.toLowerCase().includes(name)));
    // Graph pages 25 by default.
    const limit = Math.min(Math.max(Number(req.query.limit) || 25, 1), this.maxPage);
    const start = req.query.after ? decodeCursor(req.query.after) : 0;
    if (start === undefined) {
      return graphError({
        status: 400,
        code: 100,
        message: '(#100) Invalid parameter',
        details: 'after is not a valid cursor',
      });
    }
    const data = list.slice(start, start + limit).map(({ wabaId: _w, ...t }) => t);
    if (data.length === 0) return { status: 200, json: { data } };
    const after = encodeCursor(start + data.length);
    const paging: Record<string, unknown> = { cursors: { before: encodeCursor(start), after } };
    // Like Graph: `next` only while there is more; the cursors are always there.
    if (start + data.length < list.length) {
      paging.next = `${baseUrl}/${req.params.version}/${waba}/message_templates?limit=${limit}&after=${after}`;
    }
    return { status: 200, json: { data, paging } };
  }
}

/** Graph-style cursors: base64 with each `=` written `ZD` (`MAZDZD` = "0"). */
function encodeCursor(n: number): string {
  return Buffer.from(String(n)).toString('base64').replace(/=/g, 'ZD');
}

function decodeCursor(c: string): number | undefined {
  const s = Buffer.from(
    c.replace(/(ZD)+$/, (m) => '='.repeat(m.length / 2)),
    'base64',
  ).toString('utf8');
  return /^\d{1,9}$/.test(s) ? Number(s) : undefined;
}
