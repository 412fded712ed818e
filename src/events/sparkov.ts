/**
 * Sparkov-format rows (the simulated card dataset used by the lab's `producer.py`), either as
 * the JSON object the producer sends per CSV row or as the CSV line itself.
 */
import { ParseError } from '../errors/index.js';
import { splitCsvLine } from './csv.js';
import type { Transaction } from './transaction.js';
import {
  checkAmount,
  checkExtra,
  checkTimestamp,
  DEFAULT_PARSE_LIMITS,
  identifierFrom,
  labelFrom,
  numberFrom,
  type ParseLimits,
  parseJsonObject,
  parseUtcDateTime,
  payloadObject,
  payloadText,
  quote,
  resolveParseLimits,
  setOwn,
  unexpected,
} from './validation.js';

/** Columns of a Sparkov CSV, in file order. Real files leave the first (row index) column unnamed. */
export const SPARKOV_COLUMNS = [
  'id',
  'trans_date_trans_time',
  'cc_num',
  'merchant',
  'category',
  'amt',
  'first',
  'last',
  'gender',
  'street',
  'city',
  'state',
  'zip',
  'lat',
  'long',
  'city_pop',
  'job',
  'dob',
  'trans_num',
  'unix_time',
  'merch_lat',
  'merch_long',
  'is_fraud',
] as const;

/** Columns without which a row cannot become a transaction. */
export const SPARKOV_REQUIRED_COLUMNS = [
  'trans_date_trans_time',
  'cc_num',
  'merchant',
  'amt',
  'trans_num',
] as const;

/** Numeric columns carried into `features` (by the same names) when present. */
export const SPARKOV_FEATURE_COLUMNS = [
  'lat',
  'long',
  'city_pop',
  'merch_lat',
  'merch_long',
  'unix_time',
] as const;

const MAPPED = new Set<string>([...SPARKOV_REQUIRED_COLUMNS, ...SPARKOV_FEATURE_COLUMNS, 'is_fraud']);

/**
 * Parses a Sparkov row given as an object (or as JSON text/bytes of one), with values as
 * strings or numbers. Never throws: bad input gives a {@link ParseError}.
 *
 * Mapping: `id` = `trans_num`, `cardId` = `cc_num`, `terminalId` = `merchant`, `amount` = `amt`,
 * time = `trans_date_trans_time` read as UTC, `label` = `is_fraud`; `features` holds `lat`,
 * `long`, `city_pop`, `merch_lat`, `merch_long`, `unix_time` where present. The channel comes
 * from the category, whose suffix says how the card was used: `*_net` → `'web'`,
 * `*_pos` → `'store'`, anything else → `'unknown'`. All other columns (the row index,
 * `category`, cardholder fields) are kept in `extra`, within `limits` (see {@link ParseLimits}).
 * Empty strings count as absent.
 */
export function parseSparkovRecord(record: unknown, limits?: ParseLimits): Transaction | ParseError {
  try {
    const resolved = resolveParseLimits(limits);
    let json: string | undefined;
    let obj: Record<string, unknown> | ParseError;
    if (typeof record === 'string' || record instanceof Uint8Array) {
      const text = payloadText(record, resolved.maxPayloadBytes);
      if (text instanceof ParseError) return text;
      json = text;
      obj = parseJsonObject(text);
    } else {
      obj = payloadObject(record, resolved.maxPayloadBytes);
    }
    return obj instanceof ParseError ? obj : sparkovFromObject(obj, json, resolved);
  } catch (error) {
    return unexpected(error);
  }
}

/**
 * Parses one Sparkov CSV line (quoted fields may hold commas and doubled quotes). `columns`
 * names the fields in order; it defaults to {@link SPARKOV_COLUMNS} and sources pass the
 * file's own header. Never throws.
 */
export function parseSparkovCsvLine(
  line: string,
  columns: readonly string[] = SPARKOV_COLUMNS,
  limits?: ParseLimits,
): Transaction | ParseError {
  try {
    const resolved = resolveParseLimits(limits);
    const text = payloadText(line, resolved.maxPayloadBytes);
    if (text instanceof ParseError) return text;
    const fields = splitCsvLine(text);
    if (fields === undefined) return new ParseError('line', `malformed CSV quoting in ${quote(text)}`);
    if (fields.length !== columns.length) {
      return new ParseError('line', `expected ${columns.length} fields, got ${fields.length}`);
    }
    const obj: Record<string, unknown> = {};
    for (let i = 0; i < fields.length; i++) setOwn(obj, columns[i]!, fields[i]);
    return sparkovFromObject(obj, undefined, resolved);
  } catch (error) {
    return unexpected(error);
  }
}

/** @internal Sparkov row from an already-parsed object; `json` is its text when known. */
export function sparkovFromObject(
  obj: Record<string, unknown>,
  json: string | undefined,
  limits: Readonly<Required<ParseLimits>> = DEFAULT_PARSE_LIMITS,
): Transaction | ParseError {
  const id = requiredText(obj, 'trans_num', json);
  if (id instanceof ParseError) return id;
  const cardId = requiredText(obj, 'cc_num', json);
  if (cardId instanceof ParseError) return cardId;
  const terminalId = requiredText(obj, 'merchant', json);
  if (terminalId instanceof ParseError) return terminalId;

  const rawTime = obj.trans_date_trans_time;
  if (typeof rawTime !== 'string' || rawTime.length === 0) {
    return new ParseError('trans_date_trans_time', `expected "YYYY-MM-DD HH:MM:SS", got ${quote(rawTime)}`);
  }
  const timestampMs = checkTimestamp(parseUtcDateTime(rawTime), 'trans_date_trans_time', rawTime);
  if (timestampMs instanceof ParseError) return timestampMs;

  const rawAmount = obj.amt;
  if (rawAmount === undefined || rawAmount === null || rawAmount === '') {
    return new ParseError('amt', `missing, got ${quote(rawAmount)}`);
  }
  const amount = checkAmount(numberFrom(rawAmount), 'amt', rawAmount);
  if (amount instanceof ParseError) return amount;

  const category = obj.category;
  const channel = typeof category === 'string' ? channelFromCategory(category) : 'unknown';
  const tx: Transaction = { id, timestampMs, cardId, terminalId, amount, channel, format: 'sparkov' };

  let features: Record<string, number> | undefined;
  for (const name of SPARKOV_FEATURE_COLUMNS) {
    const raw = obj[name];
    if (raw === undefined || raw === null || raw === '') continue;
    const value = numberFrom(raw);
    if (Number.isNaN(value)) return new ParseError(name, `expected a finite number, got ${quote(raw)}`);
    features ??= {};
    features[name] = value;
  }
  if (features !== undefined) tx.features = features;

  const rawLabel = obj.is_fraud;
  if (rawLabel !== undefined && rawLabel !== null && rawLabel !== '') {
    const label = labelFrom(rawLabel);
    if (label === undefined) return new ParseError('is_fraud', `expected 0 or 1, got ${quote(rawLabel)}`);
    tx.label = label;
  }

  let extra: Record<string, unknown> | undefined;
  for (const key of Object.keys(obj)) {
    if (MAPPED.has(key)) continue;
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

function requiredText(
  obj: Record<string, unknown>,
  key: string,
  json: string | undefined,
): string | ParseError {
  const value = obj[key];
  const text = identifierFrom(value, key, json);
  if (text === undefined || text.length === 0) {
    return new ParseError(key, `expected a non-empty string or number, got ${quote(value)}`);
  }
  return text;
}

/** `grocery_pos` → `'store'`, `shopping_net` → `'web'`, others (`gas_transport`, `travel`, …) → `'unknown'`. */
function channelFromCategory(category: string): string {
  if (category.endsWith('_net')) return 'web';
  if (category.endsWith('_pos')) return 'store';
  return 'unknown';
}
