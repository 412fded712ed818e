/**
 * The reference lab's envelope, as sent by its `producer2.py`:
 * `{"data": "<Time,V1..V28,Amount>", "metadata": ["YYYY-MM-DD HH:MM:SS", "<id>", "Web|Mobile|Store"]}`.
 */
import { ParseError } from '../errors/index.js';
import { CREDITCARD_COLUMNS, creditcardFeatures, type Transaction } from './transaction.js';
import {
  channelFrom,
  checkAmount,
  checkExtra,
  checkTimestamp,
  DEFAULT_PARSE_LIMITS,
  formatPythonFloat,
  formatUtcDateTime,
  labelFrom,
  type ParseLimits,
  parseDecimal,
  parseUtcDateTime,
  payloadObject,
  quote,
  resolveParseLimits,
  setOwn,
  unexpected,
} from './validation.js';

const COLUMN_COUNT = CREDITCARD_COLUMNS.length;

/** Values of the record being parsed; reused because parsing is synchronous and one record at a time. */
const scratch = new Float64Array(30);
const AMOUNT_INDEX = COLUMN_COUNT - 1;
const DATA_FIELDS = CREDITCARD_COLUMNS.map((name) => `data.${name}`);

/** Top-level envelope fields read as the label when present (the lab never sends one; replays of labelled history may). */
const LABEL_FIELDS = ['Class', 'label'] as const;

/**
 * Parses a lab envelope. Never throws: bad input gives a {@link ParseError} naming the field.
 * `id` is `metadata[1]` (the lab sends the literal `random_id`), the time is `metadata[0]`
 * read as UTC, the channel `metadata[2]` lower-cased, features are the 30 numbers by column
 * name, and `cardId`/`terminalId` are `''` because the envelope has none. A top-level `Class`
 * or `label` of 0/1 becomes the label; any other extra field is kept in `extra`, within
 * `limits` (see {@link ParseLimits}).
 */
export function parseLabEnvelope(
  payload: string | Uint8Array,
  limits?: ParseLimits,
): Transaction | ParseError {
  try {
    const resolved = resolveParseLimits(limits);
    const obj = payloadObject(payload, resolved.maxPayloadBytes);
    return obj instanceof ParseError ? obj : labFromObject(obj, resolved);
  } catch (error) {
    return unexpected(error);
  }
}

/** @internal Lab envelope from an already-parsed JSON object. */
export function labFromObject(
  obj: Record<string, unknown>,
  limits: Readonly<Required<ParseLimits>> = DEFAULT_PARSE_LIMITS,
): Transaction | ParseError {
  const data = obj.data;
  if (typeof data !== 'string')
    return new ParseError('data', `expected a string of 30 numbers, got ${quote(data)}`);
  const parts = data.split(',');
  if (parts.length !== COLUMN_COUNT) {
    return new ParseError('data', `expected ${COLUMN_COUNT} comma-separated numbers, got ${parts.length}`);
  }
  for (let i = 0; i < COLUMN_COUNT; i++) {
    const text = parts[i]!;
    const value = parseDecimal(text);
    if (Number.isNaN(value))
      return new ParseError(DATA_FIELDS[i]!, `expected a finite number, got ${quote(text)}`);
    scratch[i] = value;
  }
  const amount = checkAmount(scratch[29]!, DATA_FIELDS[AMOUNT_INDEX]!, parts[AMOUNT_INDEX]);
  if (amount instanceof ParseError) return amount;

  const metadata = obj.metadata;
  if (!Array.isArray(metadata))
    return new ParseError('metadata', `expected an array of 3 strings, got ${quote(metadata)}`);
  if (metadata.length !== 3) return new ParseError('metadata', `expected 3 entries, got ${metadata.length}`);
  const [time, id, channel] = metadata as unknown[];
  if (typeof time !== 'string')
    return new ParseError('metadata[0]', `expected a date-time string, got ${quote(time)}`);
  const timestampMs = checkTimestamp(parseUtcDateTime(time), 'metadata[0]', time);
  if (timestampMs instanceof ParseError) return timestampMs;
  if (typeof id !== 'string') return new ParseError('metadata[1]', `expected an id string, got ${quote(id)}`);
  if (typeof channel !== 'string')
    return new ParseError('metadata[2]', `expected a channel string, got ${quote(channel)}`);

  const tx: Transaction = {
    id,
    timestampMs,
    cardId: '',
    terminalId: '',
    amount,
    channel: channelFrom(channel),
    features: creditcardFeatures(scratch),
    format: 'lab',
  };
  let extra: Record<string, unknown> | undefined;
  for (const key of Object.keys(obj)) {
    if (key === 'data' || key === 'metadata') continue;
    const value = obj[key];
    if ((key === LABEL_FIELDS[0] || key === LABEL_FIELDS[1]) && tx.label === undefined) {
      if (value === null) continue;
      const label = labelFrom(value);
      if (label === undefined) return new ParseError(key, `expected 0 or 1, got ${quote(value)}`);
      tx.label = label;
      continue;
    }
    extra ??= {};
    setOwn(extra, key, value);
  }
  if (extra !== undefined) {
    const tooBig = checkExtra(extra, limits);
    if (tooBig !== undefined) return tooBig;
    tx.extra = extra;
  }
  return tx;
}

/** Options of {@link toLabEnvelope}. */
export interface LabEnvelopeOptions {
  /**
   * Append the label as a top-level `"Class"` field when the transaction has one. The lab's
   * producer never does, so the default output stays byte-identical to it.
   * @default false
   */
  includeLabel?: boolean;
}

/**
 * Serialises a transaction as the lab envelope, byte-identical to `producer2.py`
 * (`json.dumps` with its default `", "`/`": "` separators and ASCII escaping; numbers as
 * Python's `str(float)` prints them, e.g. `0.0`, `149.62`, `1e-05`). The time is written to
 * the second (milliseconds are dropped), the channel capitalised (`web` → `Web`). `data` takes
 * `Time` and `V1`..`V28` from `features` (0 where absent, as for transactions from sources
 * without them) and `Amount` from `amount`.
 */
export function toLabEnvelope(tx: Transaction, options?: LabEnvelopeOptions): string {
  const features = tx.features;
  let data = '';
  for (let i = 0; i < COLUMN_COUNT; i++) {
    const value = i === AMOUNT_INDEX ? tx.amount : (features?.[CREDITCARD_COLUMNS[i]!] ?? 0);
    data += i === 0 ? formatPythonFloat(value) : `,${formatPythonFloat(value)}`;
  }
  const channel = tx.channel.length === 0 ? 'Unknown' : tx.channel[0]!.toUpperCase() + tx.channel.slice(1);
  let out = `{"data": "${data}", "metadata": [${pyString(formatUtcDateTime(tx.timestampMs))}, ${pyString(tx.id)}, ${pyString(channel)}]`;
  if (options?.includeLabel === true && tx.label !== undefined) out += `, "Class": ${tx.label}`;
  return `${out}}`;
}

/** A JSON string literal as Python's `json.dumps` writes it (`ensure_ascii=True`: non-ASCII as `\uXXXX`). */
function pyString(s: string): string {
  const json = JSON.stringify(s);
  return /[^\x00-\x7f]/.test(json)
    ? json.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : json;
}
