import { sql } from 'kysely';
import type { AppContext } from '../app/context.js';
import { newId } from '../core/ids.js';
import { namesLine, type InboxItem } from './normalise.js';
import { firstOccurrence, receivedFields, type Received } from './apply-batch.js';

const PARSE_CHUNK = 32;

/**
 * The inline normaliser's fast path (decision 026): rows whose events are all `message.received`
 * for their own line are written by ONE call of `sb_ingest_received` (migration 024) — dedupe,
 * contacts, conversations, messages, events and the removal of their inbox rows — instead of a
 * transaction of ~13 statements. Same results as `applyReceivedBatch`, which the rest (statuses,
 * edits, echoes of the line's own messages, rows that fail to parse, rows of another line) still goes through: those are returned for
 * the general path, as are all rows if the call fails.
 */
export async function ingestReceived(ctx: AppContext, tenantId: string, items: InboxItem[]): Promise<InboxItem[]> {
  const general: InboxItem[] = [];
  const fast: { item: InboxItem; events: Received[] }[] = [];
  for (const [n, item] of items.entries()) {
    // Parsing is the synchronous part of a batch (~20 µs a row): let waiting webhook requests in
    // every PARSE_CHUNK rows, so a big batch never holds the acknowledge path for milliseconds.
    if (n > 0 && n % PARSE_CHUNK === 0) await new Promise((r) => setImmediate(r));
    const def = ctx.providers.definition(item.provider);
    const parsed = def.webhook.parse({ headers: item.headers, body: item.body, query: {} });
    // An event of another line (Cloud API) or session (WAHA) is never filed here.
    const events = parsed.ok ? parsed.events.filter((ev) => namesLine(def, ev.externalId, item.externalId)) : [];
    // Messages sent from the line's phone (echoes) also take the general path, which applies the
    // receipts parked for them; they are few next to what customers send.
    if (!parsed.ok || events.length === 0 || events.some((ev) => ev.kind !== 'message.received' || ev.fromMe)) general.push(item);
    else fast.push({ item, events: events as Received[] });
  }
  if (fast.length === 0) return general;

  // One row per event, the first occurrence of each message in the batch.
  const first = firstOccurrence();
  const events = fast.flatMap(({ item, events }, i) => events.filter((e) => first(item.channelId, e)).map((e) => {
    const f = receivedFields(e);
    const msgId = newId('msg');
    return {
      row: i + 1, channel: item.channelId, chat: e.chat, new_name: f.contactName, name_update: f.contactName, from_me: e.fromMe, ts: f.at.toISOString(),
      msg_id: msgId, ctc_id: newId('ctc'), cnv_id: newId('cnv'), evt_id: newId('evt'), direction: f.direction, status: f.status,
      type: e.content.type, content: e.content, sender: f.sender, pmid: e.providerMessageId, reply_to: e.replyTo ?? null,
      metadata: f.metadata, data: f.data(msgId, item.channelId),
    };
  }));
  try {
    await sql`select sb_ingest_received(${tenantId}, ${fast.map((f) => f.item.id)}::text[], ${JSON.stringify(events)}::jsonb)`.execute(ctx.db);
  } catch (err) {
    ctx.logger.error({ err: (err as Error)?.message, tenant_id: tenantId, rows: fast.length }, 'inbound fast path failed; the rows take the general path');
    return [...general, ...fast.map((f) => f.item)];
  }
  return general;
}
