import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, ParseError } from '../../src/errors/index.js';
import {
  DEFAULT_PARSE_LIMITS,
  MAX_EXTRA_CHARS,
  MAX_EXTRA_DEPTH,
  type ParseLimits,
  parseLabEnvelope,
  parseNativeTransaction,
  parsePayload,
  parseSparkovCsvLine,
  parseSparkovRecord,
  resolveParseLimits,
  type Transaction,
} from '../../src/events/index.js';
import { LAB_ENVELOPE } from './fixtures.js';

const NATIVE = { id: 'n1', timestamp: 0, amount: 3 };
const SPARKOV = {
  trans_num: 's1',
  cc_num: '1',
  merchant: 'm',
  amt: '2',
  trans_date_trans_time: '2020-06-21 12:14:25',
};

function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = i % 2 === 0 ? [value] : { x: value };
  return value;
}

/** The same unknown field on a record of each JSON format, as text. */
function carriers(key: string, value: unknown): [string, string][] {
  const lab = JSON.parse(LAB_ENVELOPE) as Record<string, unknown>;
  return [
    ['native', JSON.stringify({ ...NATIVE, [key]: value })],
    ['lab', JSON.stringify({ ...lab, [key]: value })],
    ['sparkov', JSON.stringify({ ...SPARKOV, [key]: value })],
  ];
}

function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  let deepest = 0;
  for (const child of children) deepest = Math.max(deepest, depthOf(child));
  return 1 + deepest;
}

describe('structural limits of unknown fields', () => {
  it('documents its defaults', () => {
    expect(DEFAULT_PARSE_LIMITS).toEqual({
      maxPayloadBytes: 65536,
      maxExtraDepth: MAX_EXTRA_DEPTH,
      maxExtraChars: MAX_EXTRA_CHARS,
    });
    expect(MAX_EXTRA_DEPTH).toBe(32);
    expect(MAX_EXTRA_CHARS).toBe(16384);
  });

  for (const [format, text] of carriers('note', nested(MAX_EXTRA_DEPTH))) {
    it(`${format}: accepts an unknown field nested exactly ${MAX_EXTRA_DEPTH} levels`, () => {
      const tx = parsePayload(text) as Transaction;
      expect(tx).not.toBeInstanceOf(ParseError);
      expect(tx.format).toBe(format);
      expect(depthOf(tx.extra?.note)).toBe(MAX_EXTRA_DEPTH);
    });
  }

  for (const [format, text] of carriers('note', nested(MAX_EXTRA_DEPTH + 1))) {
    it(`${format}: refuses one nested a level deeper, naming the field`, () => {
      const error = parsePayload(text) as ParseError;
      expect(error).toBeInstanceOf(ParseError);
      expect(error.field).toBe('note');
      expect(error.reason).toMatch(/nested deeper than 32 levels/);
    });
  }

  it('refuses the poison record of the issue: ~60 KiB of nesting in an unknown field', () => {
    const poison = `{"id":"p","timestamp":0,"amount":1,"blob":${'['.repeat(30_000)}${']'.repeat(30_000)}}`;
    const error = parseNativeTransaction(poison) as ParseError;
    expect(error).toBeInstanceOf(ParseError);
    expect(error.field).toBe('blob');
    // What the store would have done with it: the parser shields it from this.
    expect(() => JSON.stringify(JSON.parse(poison))).toThrow(RangeError);
  });

  it('refuses unknown fields past the size limit, and accepts them at it', () => {
    // {"note":"…"} is 12 characters around the string.
    const fits = { ...NATIVE, note: 'x'.repeat(MAX_EXTRA_CHARS - 11) };
    const tx = parseNativeTransaction(JSON.stringify(fits)) as Transaction;
    expect(tx).not.toBeInstanceOf(ParseError);
    expect(JSON.stringify(tx.extra).length).toBe(MAX_EXTRA_CHARS);

    const over = parseNativeTransaction(JSON.stringify({ ...fits, note: `${fits.note}x` })) as ParseError;
    expect(over).toBeInstanceOf(ParseError);
    expect(over.field).toBe('note');
    expect(over.reason).toMatch(/more than 16384 characters/);
  });

  it('counts all unknown fields together and names the one that passes the limit', () => {
    const fields: Record<string, string> = {};
    for (let i = 0; i < 20; i++) fields[`f${i}`] = 'y'.repeat(1000);
    const error = parseNativeTransaction(JSON.stringify({ ...NATIVE, ...fields })) as ParseError;
    expect(error).toBeInstanceOf(ParseError);
    expect(error.field).toBe('f16');
  });

  it('applies to Sparkov CSV lines and to objects handed over already parsed', () => {
    const columns = ['trans_num', 'cc_num', 'merchant', 'amt', 'trans_date_trans_time', 'job'];
    const line = `s1,1,m,2,2020-06-21 12:14:25,${'j'.repeat(100)}`;
    expect(parseSparkovCsvLine(line, columns)).toMatchObject({ extra: { job: 'j'.repeat(100) } });
    const small = parseSparkovCsvLine(line, columns, { maxExtraChars: 50 }) as ParseError;
    expect(small).toBeInstanceOf(ParseError);
    expect(small.field).toBe('job');
    const object = parseSparkovRecord({ ...SPARKOV, deep: nested(4) }, { maxExtraDepth: 3 }) as ParseError;
    expect(object).toBeInstanceOf(ParseError);
    expect(object.field).toBe('deep');
  });

  it('takes limits per call and validates them', () => {
    const payload = JSON.stringify({ ...NATIVE, note: [[1]] });
    expect(parsePayload(payload, undefined, { maxExtraDepth: 1 })).toBeInstanceOf(ParseError);
    expect(parsePayload(payload, undefined, { maxExtraDepth: 2 })).not.toBeInstanceOf(ParseError);
    expect(parseLabEnvelope(LAB_ENVELOPE, { maxPayloadBytes: 100 })).toMatchObject({
      field: 'payload',
      reason: expect.stringMatching(/exceeds the limit of 100/),
    });
    expect(() => resolveParseLimits({ maxExtraDepth: -1 })).toThrow(ConfigError);
    expect(() => resolveParseLimits({ maxExtraChars: 1.5 })).toThrow(/maxExtraChars/);
    expect(resolveParseLimits()).toBe(DEFAULT_PARSE_LIMITS);
  });
});

/** JSON values whose strings need no escaping, so their `JSON.stringify` length is what the limit counts. */
const PLAIN_KEY = fc.stringMatching(/^[a-z]{1,6}$/);
const { value: PLAIN_JSON } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.stringMatching(/^[a-z 0-9]{0,12}$/),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(PLAIN_KEY, tie('value'), { maxKeys: 4 }),
  ),
}));
/** Unknown fields only: none of them is a name any parser reads. */
const EXTRAS = fc.dictionary(
  PLAIN_KEY.map((k) => `x_${k}`),
  PLAIN_JSON,
  { maxKeys: 5 },
);

describe('structural limits, property-based', () => {
  const limits: ParseLimits = { maxExtraDepth: 3, maxExtraChars: 120 };

  it('accepts a record exactly when its unknown fields are within both limits', () => {
    fc.assert(
      fc.property(EXTRAS, fc.constantFrom('native', 'lab', 'sparkov'), (extras, format) => {
        const base =
          format === 'lab' ? JSON.parse(LAB_ENVELOPE) : format === 'native' ? { ...NATIVE } : { ...SPARKOV };
        const result = parsePayload(JSON.stringify({ ...base, ...extras }), undefined, limits);
        const keys = Object.keys(extras);
        const depth = Math.max(0, ...keys.map((k) => depthOf(extras[k])));
        const chars = keys.length === 0 ? 0 : JSON.stringify(extras).length;
        const within = depth <= 3 && chars <= 120;
        expect(result instanceof ParseError).toBe(!within);
        if (result instanceof ParseError) expect(keys).toContain(result.field);
        else expect(result.extra ?? {}).toEqual(extras);
      }),
      { seed: 11, numRuns: 500 },
    );
  });

  it('never accepts a record the store could not serialise (arbitrary JSON, default limits)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 40 }), (value) => {
        const result = parsePayload(JSON.stringify({ ...NATIVE, note: value }));
        if (result instanceof ParseError) {
          expect(result.field).toBe('note');
          return;
        }
        const text = JSON.stringify(result);
        expect(depthOf(result.extra?.note)).toBeLessThanOrEqual(MAX_EXTRA_DEPTH);
        expect(JSON.stringify(result.extra).length).toBeLessThanOrEqual(6 * MAX_EXTRA_CHARS);
        expect(text.length).toBeGreaterThan(0);
      }),
      { seed: 12, numRuns: 300 },
    );
  });
});
