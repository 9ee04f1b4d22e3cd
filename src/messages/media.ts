import type { AppContext } from '../app/context.js';
import { AppError, notFound, ProviderError } from '../core/errors.js';
import { withTenant, type TenantId } from '../db/db.js';
import { channelRef, findChannel } from '../channels/service.js';

/** What `GET /v1/messages/{id}/media` answers: the file itself, or where anyone can fetch it. */
export type MediaAnswer = { kind: 'file'; data: Buffer; mimeType: string; filename: string | undefined } | { kind: 'link'; url: string };

interface StoredMedia {
  id?: unknown;
  url?: unknown;
  mimeType?: unknown;
  filename?: unknown;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
/** A media type as a header may carry it; anything else a sender made up is served as bytes. */
export const mimeOf = (...candidates: unknown[]): string =>
  candidates.map(text).find((m) => m !== undefined && m.length <= 200 && /^[\w.+-]+\/[\w.+-]+([ \t]*;[ \t]*[\w.+-]+=[\w.+-]+)*$/.test(m)) ?? 'application/octet-stream';

/**
 * The file of a media message (decision 057). Files a provider holds behind the line's credentials
 * (Cloud API media ids, WAHA's `/api/files/…`) are fetched with them — a tenant never sees the
 * credentials, so without this route it could not open what its customers sent. A plain link
 * (UltraMsg's file host, the link a tenant sent) is answered with the link.
 */
export async function messageMedia(ctx: AppContext, tenantId: TenantId, messageId: string): Promise<MediaAnswer> {
  const { message, channel } = await withTenant(ctx.db, tenantId, async (tx) => {
    const m = await tx.selectFrom('messages').select(['channel_id', 'direction', 'content', 'attempts', 'provider_message_id']).where('id', '=', messageId).executeTakeFirst();
    if (!m) throw notFound('message');
    return { message: m, channel: await findChannel(tx, m.channel_id) };
  });
  const content = message.content as { type?: unknown; media?: StoredMedia };
  const media = content.media;
  if (!media || typeof media !== 'object') throw new AppError('not_found', `a ${String(content.type)} message has no file`);
  const id = text(media.id);
  const url = text(media.url);
  const def = ctx.providers.definition(channel.provider);
  // What came in by webhook: inbound messages, and echoes of what the line's phone sent (outbound,
  // never attempted by us, with the provider's id — the worker's echo rule). A link a tenant sent
  // is an outbound message we attempted.
  const byWebhook = message.direction === 'in' || (message.attempts === 0 && message.provider_message_id !== null);
  const held = id !== undefined || (url !== undefined && byWebhook && def.capabilities.inboundMedia === 'held');
  if (!held) {
    if (url === undefined) throw new AppError('not_found', `${def.displayName} did not download this file, so there is nothing to fetch`);
    return { kind: 'link', url: webLink(url) };
  }
  const ops = ctx.providers.adapter(channel.provider).media;
  if (!ops) throw new AppError('not_found', `${def.displayName} files cannot be fetched through Switchboard`);
  try {
    const file = await ops.download(channelRef(ctx, channel), (id ?? url)!);
    return { kind: 'file', data: file.data, mimeType: mimeOf(media.mimeType, file.mimeType), filename: text(media.filename) };
  } catch (err) {
    if (err instanceof ProviderError && (err.kind === 'not_found' || err.kind === 'invalid_request')) {
      throw new AppError('not_found', `${def.displayName} no longer holds this file: ${err.message}`);
    }
    throw err;
  }
}

/** The link as a `Location` can carry it (percent-encoded); only http(s). */
function webLink(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AppError('not_found', 'the file link is not a URL');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new AppError('not_found', `the file link is a ${u.protocol} URL, not a web address`);
  return u.href;
}

/** `Content-Disposition` for a file a stranger named: always a download, the name percent-encoded (RFC 6266). */
export function attachmentDisposition(filename: string | undefined): string {
  if (!filename) return 'attachment';
  const name = [...filename].slice(0, 200).join(''); // a header some proxies would refuse otherwise
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  // RFC 8187 attr-chars: encodeURIComponent leaves ' ( ) * as they are, which it does not allow.
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
