/**
 * Ordering and cursors shared by the stores' {@link Store.searchTransactions}. Results are
 * ordered by one text key per transaction, `<event time, 15 digits>|<record key>`: sorting it
 * descending gives newest first with a stable tie-break, and a cursor is that key of the last
 * transaction returned, so a page starts strictly after it whatever was written meanwhile.
 */
import { ConfigError } from '../errors/index.js';
import type { ScoredTransaction, TransactionQuery } from './types.js';
import { DECISIONS, MAX_SEARCH_LIMIT } from './types.js';

/** Digits of the time part: event times are validated to [0, 2100-01-01), under 10^13 ms. */
const TIME_DIGITS = 15;

/** The ordering key of a stored transaction (also the member of the Redis indexes). */
export function searchKey(timestampMs: number, recordKey: string): string {
  return `${timePrefix(timestampMs)}|${recordKey}`;
}

/** The zero-padded time part of {@link searchKey}; times are clamped into the padded range. */
export function timePrefix(timestampMs: number): string {
  const t = Math.min(10 ** TIME_DIGITS - 1, Math.max(0, Math.floor(timestampMs)));
  return String(t).padStart(TIME_DIGITS, '0');
}

/** A cursor for the page after the transaction whose {@link searchKey} is `key`. */
export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

/** The {@link searchKey} a cursor stands for; throws {@link ConfigError} for a cursor no store made. */
export function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!new RegExp(`^\\d{${TIME_DIGITS}}\\|.+`).test(key)) throw new ConfigError('cursor is not valid');
  return key;
}

/** Whether `cursor` is one a store returned (its shape; the position it names may be gone). */
export function isSearchCursor(cursor: string): boolean {
  try {
    decodeCursor(cursor);
    return /^[A-Za-z0-9_-]+$/.test(cursor);
  } catch {
    return false;
  }
}

/** Validates a query once at the store's entry; throws {@link ConfigError}. */
export function checkQuery(query: TransactionQuery): void {
  if (!(Number.isInteger(query.limit) && query.limit >= 1 && query.limit <= MAX_SEARCH_LIMIT)) {
    throw new ConfigError(`limit must be an integer from 1 to ${MAX_SEARCH_LIMIT}, got ${query.limit}`);
  }
  if (query.decision !== undefined && !DECISIONS.includes(query.decision)) {
    throw new ConfigError(`decision must be one of ${DECISIONS.join(', ')}`);
  }
  for (const name of ['fromMs', 'toMs'] as const) {
    const v = query[name];
    if (v !== undefined && !Number.isFinite(v)) throw new ConfigError(`${name} must be a finite number`);
  }
  if (query.cursor !== undefined) decodeCursor(query.cursor);
}

/** Whether a transaction passes every filter of the query (the cursor aside). */
export function matchesQuery(r: ScoredTransaction, query: TransactionQuery): boolean {
  const tx = r.transaction;
  return (
    (query.cardId === undefined || tx.cardId === query.cardId) &&
    (query.terminalId === undefined || tx.terminalId === query.terminalId) &&
    (query.decision === undefined || r.decision === query.decision) &&
    (query.fromMs === undefined || tx.timestampMs >= query.fromMs) &&
    (query.toMs === undefined || tx.timestampMs <= query.toMs)
  );
}
