import { Type, type TSchema } from '@sinclair/typebox';
import { AppError } from '../core/errors.js';
import { isId, type IdPrefix } from '../core/ids.js';

/** Cursor pagination over sortable ids, newest first. The cursor is the last id seen, opaque. */
export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'next_cursor from the previous page' })),
};

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ data: Type.Array(item), next_cursor: Type.Union([Type.String(), Type.Null()]) });

/** The id a list's cursor holds; a cursor made by another list (another id prefix) or edited is a 400. */
export function decodeCursor(cursor: string | undefined, prefix: IdPrefix): string | undefined {
  if (!cursor) return undefined;
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isId(id, prefix)) throw new AppError('validation_failed', 'cursor is not valid for this list');
  return id;
}

/**
 * Call with limit+1 rows fetched; trims the extra row and makes the next cursor from the last row
 * (its id, unless `cursorOf` says otherwise).
 */
export function toPage<R extends { id: string }, O>(rows: R[], limit: number, map: (r: R) => O, cursorOf: (r: R) => string = (r) => Buffer.from(r.id, 'utf8').toString('base64url')): { data: O[]; next_cursor: string | null } {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page[page.length - 1];
  return { data: page.map(map), next_cursor: more && last ? cursorOf(last) : null };
}

/**
 * Cursor of a list ordered by a timestamp, then id (newest first): `at` (ISO 8601 in UTC with
 * PostgreSQL's microseconds, so no row between two of the same millisecond is skipped) and `id` of
 * the last row seen, opaque to the client.
 */
export interface TimeCursor {
  at: string;
  id: string;
}

export function encodeTimeCursor(c: TimeCursor): string {
  return Buffer.from(`${c.at}|${c.id}`, 'utf8').toString('base64url');
}

export function decodeTimeCursor(cursor: string | undefined): TimeCursor | undefined {
  if (!cursor) return undefined;
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)\|([a-z]{3}_[0-9A-Z]{26})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  // A date that does not exist (2024-02-30) parses in JavaScript by rolling over; only one that
  // comes back unchanged is real.
  const real = m && !Number.isNaN(Date.parse(m[1]!)) && new Date(m[1]!).toISOString().slice(0, 23) === m[1]!.slice(0, 23);
  if (!m || !real) throw new AppError('validation_failed', 'cursor is not valid for this order');
  return { at: m[1]!, id: m[2]! };
}
