/**
 * fraudstream's own JSON record: `{id, timestamp, cardId, terminalId, amount, channel,
 * features?, label?}`. This is how users bring their own labelled history (one record per line).
 */
import { ParseError } from '../errors/index.js';
import type { Transaction } from './transaction.js';
import {
  channelFrom,
  checkAmount,
  checkExtra,
  checkTimestamp,
  DEFAULT_PARSE_LIMITS,
  identifierFrom,
  labelFrom,
  type ParseLimits,
  parseJsonObject,
  parseUtcDateTime,
  payloadText,
  quote,
  resolveParseLimits,
  setOwn,
  unexpected,
} from './validation.js';

/** Field names of the native record, in the order {@link toNativeJson} writes them. */
export const NATIVE_FIELDS = [
  'id',
  'timestamp',
  'cardId',
  'terminalId',
  'amount',
  'channel',
  'features',
  'label',
] as const;

const KNOWN = new Set<string>([...NATIVE_FIELDS, 'timestampMs']);

/**
 * Parses a native JSON record. Never throws: bad input gives a {@link ParseError}.
 *
 * - `id` (string or number) and `amount` (number) are required; `timestamp` is required as an
 *   ISO-8601 string (UTC unless it carries a zone) or epoch milliseconds (`timestampMs` is
 *   accepted as an alias).
 * - `cardId`, `terminalId` (string or integer; integers beyond 2^53 are read digit-exact from
 *   the text), `channel` (lower-cased), `features` (name → finite number) and `label` (0/1)
 *   are optional; `null` counts as absent.
 * - Any other field is kept in `extra`, within `limits` (see {@link ParseLimits}).
 */
export function parseNativeTransaction(
  payload: string | Uint8Array,
  limits?: ParseLimits,
): Transaction | ParseError {
  try {
    const resolved = resolveParseLimits(limits);
    const text = payloadText(payload, resolved.maxPayloadBytes);
    if (text instanceof ParseError) return text;
    const obj = parseJsonObject(text);
    return obj instanceof ParseError ? obj : nativeFromObject(obj, text, resolved);
  } catch (error) {
    return unexpected(error);
  }
}

/** @internal Native record from an already-parsed object; `json` is its text when known. */
export function nativeFromObject(
  obj: Record<string, unknown>,
  json?: string,
  limits: Readonly<Required<ParseLimits>> = DEFAULT_PARSE_LIMITS,
): Transaction | ParseError {
  const id = identifierFrom(obj.id, 'id', json);
  if (id === undefined) return new ParseError('id', `expected a string or number, got ${quote(obj.id)}`);

  let timestampMs: number | ParseError;
  let timeField = 'timestamp';
  let time = obj.timestamp;
  if (time === undefined && obj.timestampMs !== undefined) {
    timeField = 'timestampMs';
    time = obj.timestampMs;
  }
  if (typeof time === 'string') {
    timestampMs = checkTimestamp(parseUtcDateTime(time), timeField, time);
  } else if (typeof time === 'number') {
    timestampMs = checkTimestamp(time, timeField, time);
  } else {
    return new ParseError(timeField, `expected an ISO-8601 string or epoch milliseconds, got ${quote(time)}`);
  }
  if (timestampMs instanceof ParseError) return timestampMs;

  const rawAmount = obj.amount;
  if (typeof rawAmount !== 'number')
    return new ParseError('amount', `expected a number, got ${quote(rawAmount)}`);
  const amount = checkAmount(rawAmount, 'amount', rawAmount);
  if (amount instanceof ParseError) return amount;

  const cardId = optionalIdentifier(obj, 'cardId', json);
  if (cardId instanceof ParseError) return cardId;
  const terminalId = optionalIdentifier(obj, 'terminalId', json);
  if (terminalId instanceof ParseError) return terminalId;

  const rawChannel = obj.channel;
  let channel = 'unknown';
  if (typeof rawChannel === 'string') channel = channelFrom(rawChannel);
  else if (rawChannel !== undefined && rawChannel !== null) {
    return new ParseError('channel', `expected a string, got ${quote(rawChannel)}`);
  }

  const tx: Transaction = { id, timestampMs, cardId, terminalId, amount, channel, format: 'native' };

  const rawFeatures = obj.features;
  if (rawFeatures !== undefined && rawFeatures !== null) {
    if (typeof rawFeatures !== 'object' || Array.isArray(rawFeatures)) {
      return new ParseError('features', `expected an object of numbers, got ${quote(rawFeatures)}`);
    }
    const features: Record<string, number> = {};
    const source = rawFeatures as Record<string, unknown>;
    for (const name of Object.keys(source)) {
      const value = source[name];
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        return new ParseError(
          `features.${name.slice(0, 40)}`,
          `expected a finite number, got ${quote(value)}`,
        );
      }
      setOwn(features, name, value);
    }
    tx.features = features;
  }

  const rawLabel = obj.label;
  if (rawLabel !== undefined && rawLabel !== null) {
    const label = labelFrom(rawLabel);
    if (label === undefined) return new ParseError('label', `expected 0 or 1, got ${quote(rawLabel)}`);
    tx.label = label;
  }

  let extra: Record<string, unknown> | undefined;
  for (const key of Object.keys(obj)) {
    if (KNOWN.has(key)) continue;
    extra ??= {};
    setOwn(extra, key, obj[key]);
  }
  if (extra !== undefined) {
    const tooBig = checkExtra(extra, limits);
    if (tooBig !== undefined) return tooBig;
    tx.extra = extra;
  }
  return tx;
}

function optionalIdentifier(
  obj: Record<string, unknown>,
  key: string,
  json: string | undefined,
): string | ParseError {
  const value = obj[key];
  if (value === undefined || value === null) return '';
  const id = identifierFrom(value, key, json);
  return id ?? new ParseError(key, `expected a string or number, got ${quote(value)}`);
}

/**
 * Serialises a transaction as a native JSON record: `timestamp` as ISO-8601 with
 * milliseconds (`2024-01-01T10:00:00.000Z`), `features` and `label` when present, and the
 * `extra` fields back at the top level (except any that would shadow a native field), so that
 * {@link parseNativeTransaction} gives back the same transaction.
 */
export function toNativeJson(tx: Transaction): string {
  const out: Record<string, unknown> = {
    id: tx.id,
    timestamp: new Date(tx.timestampMs).toISOString(),
    cardId: tx.cardId,
    terminalId: tx.terminalId,
    amount: tx.amount,
    channel: tx.channel,
  };
  if (tx.features !== undefined) out.features = tx.features;
  if (tx.label !== undefined) out.label = tx.label;
  if (tx.extra !== undefined) {
    for (const key of Object.keys(tx.extra)) {
      if (!KNOWN.has(key)) setOwn(out, key, tx.extra[key]);
    }
  }
  return JSON.stringify(out);
}
