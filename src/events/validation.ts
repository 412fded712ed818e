/**
 * Shared building blocks of the parsers: structural limits, strict number and date parsing, and
 * error reasons that quote the bad value. Internal to `events/`; only the limits are public.
 */
import { ConfigError, ParseError } from '../errors/index.js';

/** Largest accepted payload, in UTF-8 bytes. Checked before any JSON parsing so a huge record costs nothing. */
export const MAX_PAYLOAD_BYTES = 65536;

/**
 * Deepest nesting of objects and arrays inside one unknown field's value: `{"note": 1}` nests
 * 0 levels, `{"note": [[1]]}` 2. Stores and logs serialise these values recursively; a value
 * nested thousands of levels deep parses fine but overflows the stack of `JSON.stringify` later.
 */
export const MAX_EXTRA_DEPTH = 32;

/**
 * Most characters the unknown fields of one record may take as JSON: `{"key":value,…}` as
 * `JSON.stringify` writes it, in UTF-16 code units, with strings counted before escaping. They
 * are stored with every transaction, so they must not crowd out the fields the pipeline uses.
 */
export const MAX_EXTRA_CHARS = 16384;

/** Structural limits every parser enforces on a record before it becomes a transaction. */
export interface ParseLimits {
  /**
   * Largest payload in UTF-8 bytes; bigger ones are refused before any JSON parsing.
   * @default 65536 ({@link MAX_PAYLOAD_BYTES})
   */
  maxPayloadBytes?: number;
  /**
   * Deepest nesting of objects/arrays inside one unknown field.
   * @default 32 ({@link MAX_EXTRA_DEPTH})
   */
  maxExtraDepth?: number;
  /**
   * Most JSON characters all unknown fields of a record may take together.
   * @default 16384 ({@link MAX_EXTRA_CHARS})
   */
  maxExtraChars?: number;
}

export const DEFAULT_PARSE_LIMITS: Readonly<Required<ParseLimits>> = Object.freeze({
  maxPayloadBytes: MAX_PAYLOAD_BYTES,
  maxExtraDepth: MAX_EXTRA_DEPTH,
  maxExtraChars: MAX_EXTRA_CHARS,
});

/** Merges limits with the defaults and validates them; throws a {@link ConfigError} naming the bad one. */
export function resolveParseLimits(limits?: ParseLimits): Readonly<Required<ParseLimits>> {
  if (limits === undefined || limits === DEFAULT_PARSE_LIMITS) return DEFAULT_PARSE_LIMITS;
  const o = { ...DEFAULT_PARSE_LIMITS, ...limits };
  for (const [name, value] of Object.entries(o)) {
    const min = name === 'maxExtraDepth' ? 0 : 1;
    if (!(Number.isInteger(value) && value >= min)) {
      throw new ConfigError(`parse limit ${name} must be an integer >= ${min}, got ${value}`);
    }
  }
  return o;
}

/**
 * Largest accepted amount. Card transactions above ten million currency units are data errors
 * (a unit mix-up or a corrupted field), not purchases; the largest Kaggle amount is 25,691.16.
 */
export const MAX_AMOUNT = 1e7;

/** Earliest accepted event time: 1970-01-01T00:00:00Z (epoch 0). */
export const MIN_TIMESTAMP_MS = 0;

/** First rejected event time: 2100-01-01T00:00:00Z. Later dates are unit mistakes (e.g. microseconds). */
export const MAX_TIMESTAMP_MS = Date.UTC(2100, 0, 1);

/** Longest excerpt of a bad value quoted in a reason, in characters. */
const QUOTE_LIMIT = 40;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A short, single-line rendering of a bad value for an error reason. */
export function quote(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    const cut = value.length > QUOTE_LIMIT ? `${value.slice(0, QUOTE_LIMIT)}…` : value;
    // JSON.stringify escapes newlines and control characters, keeping the reason on one line.
    return JSON.stringify(cut);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  return typeof value;
}

/**
 * Turns a string or UTF-8 bytes into text, enforcing {@link MAX_PAYLOAD_BYTES} first and
 * rejecting empty payloads. A leading byte-order mark is dropped.
 */
export function payloadText(payload: unknown, maxBytes: number = MAX_PAYLOAD_BYTES): string | ParseError {
  let text: string;
  if (typeof payload === 'string') {
    // UTF-8 never takes fewer bytes than UTF-16 code units, so only long strings need measuring.
    if (payload.length > maxBytes) return tooLarge(payload.length, maxBytes);
    if (payload.length * 3 > maxBytes) {
      const bytes = Buffer.byteLength(payload, 'utf8');
      if (bytes > maxBytes) return tooLarge(bytes, maxBytes);
    }
    text = payload;
  } else if (payload instanceof Uint8Array) {
    if (payload.byteLength > maxBytes) return tooLarge(payload.byteLength, maxBytes);
    try {
      text = utf8.decode(payload);
    } catch {
      return new ParseError('payload', 'not valid UTF-8');
    }
  } else {
    return new ParseError('payload', `expected a string or bytes, got ${quote(payload)}`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim().length === 0) return new ParseError('payload', 'empty payload');
  return text;
}

function tooLarge(size: number, maxBytes: number): ParseError {
  return new ParseError('payload', `payload of ${size} bytes exceeds the limit of ${maxBytes}`);
}

/** Marks a value nested deeper than allowed; sizes are never negative. */
const TOO_DEEP = -1;

/**
 * Checks the unknown fields of a record against {@link ParseLimits.maxExtraDepth} and
 * {@link ParseLimits.maxExtraChars}. Returns a {@link ParseError} naming the first field past a
 * limit, or undefined. The walk stops as soon as a limit is passed, so a hostile record costs
 * no more than the text that was parsed; records without unknown fields cost nothing.
 */
export function checkExtra(
  extra: Record<string, unknown>,
  limits: Readonly<Required<ParseLimits>>,
): ParseError | undefined {
  const { maxExtraDepth, maxExtraChars } = limits;
  // Braces of the object that holds them, then `"key":value` per field and the commas between.
  let total = 2;
  let separator = 0;
  for (const key of Object.keys(extra)) {
    const size = jsonChars(extra[key], maxExtraDepth, maxExtraChars - total);
    if (size === TOO_DEEP) {
      return new ParseError(
        fieldName(key),
        `unknown field nested deeper than ${maxExtraDepth} levels of objects or arrays`,
      );
    }
    total += separator + key.length + 3 + size;
    separator = 1;
    if (total > maxExtraChars) {
      return new ParseError(
        fieldName(key),
        `unknown fields take more than ${maxExtraChars} characters of JSON (the limit of unknown fields)`,
      );
    }
  }
  return undefined;
}

function fieldName(key: string): string {
  return key.length > QUOTE_LIMIT ? `${key.slice(0, QUOTE_LIMIT)}…` : key;
}

/**
 * Length of `value` as `JSON.stringify` writes it, except that strings and keys are counted
 * without escapes (cheap, and escapes can only add), or {@link TOO_DEEP} when it nests more
 * than `depthLeft` levels. Stops counting once past `budget`: the caller only needs
 * to know that the limit is passed.
 */
function jsonChars(value: unknown, depthLeft: number, budget: number): number {
  switch (typeof value) {
    case 'string':
      return value.length + 2;
    case 'number':
      return Number.isFinite(value) ? numberChars(value) : 4;
    case 'boolean':
      return value ? 4 : 5;
    case 'object': {
      if (value === null) return 4;
      if (depthLeft === 0) return TOO_DEEP;
      let size = 2;
      let separator = 0;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length && size <= budget; i++) {
          const item = jsonChars(value[i], depthLeft - 1, budget - size);
          if (item === TOO_DEEP) return TOO_DEEP;
          size += separator + item;
          separator = 1;
        }
      } else {
        const obj = value as Record<string, unknown>;
        for (const key in obj) {
          if (size > budget) break;
          if (!Object.hasOwn(obj, key)) continue;
          const item = jsonChars(obj[key], depthLeft - 1, budget - size);
          if (item === TOO_DEEP) return TOO_DEEP;
          size += separator + key.length + 3 + item;
          separator = 1;
        }
      }
      return size;
    }
    default:
      // undefined, functions and symbols: JSON.stringify leaves them out. Parsed JSON has none.
      return 0;
  }
}

/** Characters of a finite number in JSON; small integers, the common case, without building a string. */
function numberChars(value: number): number {
  if (Number.isInteger(value) && value > -1e9 && value < 1e9) {
    let n = value < 0 ? 2 : 1;
    let v = value < 0 ? -value : value;
    while (v >= 10) {
      v = Math.floor(v / 10);
      n++;
    }
    return n;
  }
  return String(value).length;
}

/** Parses JSON text that must hold an object. One `JSON.parse`, errors become {@link ParseError}. */
export function parseJsonObject(text: string): Record<string, unknown> | ParseError {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message.split('\n', 1)[0] : 'syntax error';
    return new ParseError('payload', `invalid JSON (${detail})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return new ParseError('payload', `expected a JSON object, got ${quote(value)}`);
  }
  return value as Record<string, unknown>;
}

/** Reads a payload that is text, bytes or an already-parsed object into a plain object. */
export function payloadObject(
  payload: unknown,
  maxBytes: number = MAX_PAYLOAD_BYTES,
): Record<string, unknown> | ParseError {
  if (typeof payload === 'string' || payload instanceof Uint8Array) {
    const text = payloadText(payload, maxBytes);
    return typeof text === 'string' ? parseJsonObject(text) : text;
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    return new ParseError('payload', `expected a JSON object, got ${quote(payload)}`);
  }
  return payload as Record<string, unknown>;
}

/**
 * Strict decimal number: what `Number()` accepts, minus the surprises — empty or blank text,
 * surrounding whitespace, hexadecimal/binary/octal prefixes and `Infinity`. Returns NaN when
 * the text is not a finite decimal number.
 */
export function parseDecimal(text: string): number {
  const n = text.length;
  if (n === 0) return Number.NaN;
  const first = text.charCodeAt(0);
  // digits, '+', '-', '.'
  if (!((first >= 48 && first <= 57) || first === 43 || first === 45 || first === 46)) return Number.NaN;
  const last = text.charCodeAt(n - 1);
  if (!((last >= 48 && last <= 57) || last === 46)) return Number.NaN;
  if (first === 48 && n > 1) {
    const second = text.charCodeAt(1) | 0x20;
    if (second === 120 || second === 98 || second === 111) return Number.NaN; // 0x 0b 0o
  }
  const value = Number(text);
  return Number.isFinite(value) ? value : Number.NaN;
}

/** A JSON value read as a finite number: numbers as they are, numeric strings strictly. NaN otherwise. */
export function numberFrom(value: unknown): number {
  if (typeof value === 'number') return Number.isFinite(value) ? value : Number.NaN;
  if (typeof value === 'string') return parseDecimal(value);
  return Number.NaN;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function digits(s: string, at: number, count: number): number {
  let v = 0;
  for (let i = at; i < at + count; i++) {
    const c = s.charCodeAt(i) - 48;
    // Written so that NaN (past the end of the string) fails too.
    if (!(c >= 0 && c <= 9)) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Parses an ISO-8601 style date-time as UTC epoch milliseconds, by hand so that no locale or
 * local time zone can leak in (`Date.parse` reads zone-less date-times as local time).
 * Accepted: `YYYY-MM-DD`, `YYYY-MM-DD[T ]HH:MM[:SS[.fraction]]` followed by nothing (UTC),
 * `Z`, `±HH:MM`, `±HHMM` or `±HH`. Returns NaN for anything else or an impossible date.
 */
export function parseUtcDateTime(s: string): number {
  const n = s.length;
  if (n < 10 || n > 40) return Number.NaN;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || s[4] !== '-' || s[7] !== '-') return Number.NaN;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const monthDays = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!;
  if (day > monthDays) return Number.NaN;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let ms = 0;
  let i = 10;
  if (i < n) {
    const sep = s[i];
    if (sep !== 'T' && sep !== ' ' && sep !== 't') return Number.NaN;
    hour = digits(s, 11, 2);
    minute = digits(s, 14, 2);
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || s[13] !== ':') return Number.NaN;
    i = 16;
    if (s[i] === ':') {
      second = digits(s, 17, 2);
      if (second < 0 || second > 59) return Number.NaN;
      i = 19;
      if (s[i] === '.' || s[i] === ',') {
        i++;
        let scale = 100;
        const start = i;
        let frac = 0;
        while (i < n) {
          const c = s.charCodeAt(i) - 48;
          if (c < 0 || c > 9) break;
          frac += c * scale;
          scale /= 10;
          i++;
        }
        if (i === start) return Number.NaN;
        ms = Math.floor(frac + 1e-9);
      }
    }
    if (i < n) {
      const zone = s[i];
      if (zone === 'Z' || zone === 'z') {
        i++;
      } else if (zone === '+' || zone === '-') {
        const zh = digits(s, i + 1, 2);
        let zm = 0;
        let end = i + 3;
        if (s[end] === ':') {
          zm = digits(s, end + 1, 2);
          end += 3;
        } else if (end < n) {
          zm = digits(s, end, 2);
          end += 2;
        }
        if (zh < 0 || zh > 23 || zm < 0 || zm > 59) return Number.NaN;
        const offsetMs = (zh * 60 + zm) * 60_000;
        ms += zone === '+' ? -offsetMs : offsetMs;
        i = end;
      }
      if (i !== n) return Number.NaN;
    }
  }
  // Date.UTC reads years 0-99 as 1900-1999; shift by 400 years (exactly 146,097 days) to avoid it.
  if (year < 100)
    return Date.UTC(year + 400, month - 1, day, hour, minute, second) + ms - 146_097 * 86_400_000;
  return Date.UTC(year, month - 1, day, hour, minute, second) + ms;
}

/** Checks an event time against the accepted range. */
export function checkTimestamp(ms: number, field: string, raw: unknown): number | ParseError {
  if (!Number.isFinite(ms)) return new ParseError(field, `expected a date-time, got ${quote(raw)}`);
  if (ms < MIN_TIMESTAMP_MS || ms >= MAX_TIMESTAMP_MS) {
    return new ParseError(field, `date-time out of range 1970..2099, got ${quote(raw)}`);
  }
  return ms;
}

/** Reads an amount: finite, not negative, at most {@link MAX_AMOUNT}. */
export function checkAmount(value: number, field: string, raw: unknown): number | ParseError {
  if (Number.isNaN(value)) return new ParseError(field, `expected a finite number, got ${quote(raw)}`);
  if (value < 0) return new ParseError(field, `amount must not be negative, got ${quote(raw)}`);
  if (value > MAX_AMOUNT)
    return new ParseError(field, `amount above the limit of ${MAX_AMOUNT}, got ${quote(raw)}`);
  return value;
}

/** Reads a label: 0 or 1 as a number, numeric string or boolean. */
export function labelFrom(value: unknown): 0 | 1 | undefined {
  if (value === 0 || value === 1) return value;
  if (value === true) return 1;
  if (value === false) return 0;
  if (typeof value === 'string') {
    const v = parseDecimal(value);
    if (v === 0 || v === 1) return v;
  }
  return undefined;
}

/** Sets an own property even for the key `__proto__`, which plain assignment would treat as the prototype. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Formats epoch milliseconds as `YYYY-MM-DD HH:MM:SS` in UTC (milliseconds dropped), the lab's and Sparkov's format. */
export function formatUtcDateTime(ms: number): string {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  return `${y < 1000 ? String(y).padStart(4, '0') : y}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(
    d.getUTCHours(),
  )}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

/**
 * Formats a finite number the way Python's `str(float)` / `repr(float)` does, so that envelopes
 * built here are byte-identical to those of the lab's `producer2.py`, which joins pandas floats
 * with `str`. Both languages print the shortest digits that round-trip; they differ only in
 * layout: Python writes `0.0` for zero, keeps `.0` on integral values, and switches to
 * exponent form (`1e-05`, `1.5e+16`) below 1e-4 and from 1e16 on, where JavaScript waits
 * until 1e-7 and 1e21.
 */
export function formatPythonFloat(x: number): string {
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const negative = x < 0;
  const magnitude = negative ? -x : x;
  if (magnitude >= 1e-4 && magnitude < 1e16) {
    // Both languages print fixed notation here; Python only adds `.0` to integral values.
    const fixed = String(x);
    return fixed.indexOf('.') === -1 ? `${fixed}.0` : fixed;
  }
  const js = magnitude.toExponential();
  // toExponential() without an argument gives the shortest round-trip digits: "d.ddde±x".
  const e = js.indexOf('e');
  const mantissa = js.slice(0, e);
  const exponent = Number(js.slice(e + 1));
  const digitsOnly = mantissa.length > 1 ? mantissa[0] + mantissa.slice(2) : mantissa;
  let out: string;
  if (exponent < -4 || exponent >= 16) {
    const abs = Math.abs(exponent);
    out = `${mantissa}e${exponent < 0 ? '-' : '+'}${abs < 10 ? `0${abs}` : abs}`;
  } else if (exponent < 0) {
    out = `0.${'0'.repeat(-exponent - 1)}${digitsOnly}`;
  } else if (digitsOnly.length <= exponent + 1) {
    out = `${digitsOnly}${'0'.repeat(exponent + 1 - digitsOnly.length)}.0`;
  } else {
    out = `${digitsOnly.slice(0, exponent + 1)}.${digitsOnly.slice(exponent + 1)}`;
  }
  return negative ? `-${out}` : out;
}

/**
 * An identifier that may arrive as a JSON string or number, as text. Integers beyond 2^53
 * (16-19 digit card numbers sent as JSON numbers) lose digits in `JSON.parse`; when the raw
 * JSON text is at hand their digits are read back from it, and used only if they parse to the
 * same double, so a key of the same name inside some string value cannot fool it.
 * Returns undefined for other types.
 */
export function identifierFrom(value: unknown, key: string, json: string | undefined): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  if (json !== undefined && Number.isInteger(value) && !Number.isSafeInteger(value)) {
    const exact = rawInteger(json, key, value);
    if (exact !== undefined) return exact;
  }
  return String(value);
}

function rawInteger(json: string, key: string, value: number): string | undefined {
  const needle = `"${key}"`;
  let from = 0;
  for (;;) {
    const at = json.indexOf(needle, from);
    if (at === -1) return undefined;
    let i = at + needle.length;
    while (
      json.charCodeAt(i) === 32 ||
      json.charCodeAt(i) === 9 ||
      json.charCodeAt(i) === 10 ||
      json.charCodeAt(i) === 13
    )
      i++;
    if (json.charCodeAt(i) === 58) {
      i++;
      while (
        json.charCodeAt(i) === 32 ||
        json.charCodeAt(i) === 9 ||
        json.charCodeAt(i) === 10 ||
        json.charCodeAt(i) === 13
      )
        i++;
      const start = i;
      if (json.charCodeAt(i) === 45) i++;
      while (json.charCodeAt(i) >= 48 && json.charCodeAt(i) <= 57) i++;
      const text = json.slice(start, i);
      if (text.length > 0 && Number(text) === value) return text;
    }
    from = at + 1;
  }
}

/** Lower-cases a channel name; an empty name means `'unknown'`. */
export function channelFrom(value: string): string {
  return value.length === 0 ? 'unknown' : value.toLowerCase();
}

/** Any exception escaping a parser is a bug; it still must not escape to the caller. */
export function unexpected(error: unknown): ParseError {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : typeof error;
  return new ParseError('payload', `could not be parsed (${detail.split('\n', 1)[0]!.slice(0, 80)})`, {
    cause: error,
  });
}
