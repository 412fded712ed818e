import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../src/errors/index.js';
import {
  CREDITCARD_COLUMNS,
  parseLabEnvelope,
  parseNativeTransaction,
  parsePayload,
  parseSparkovCsvLine,
  parseSparkovRecord,
  type Transaction,
  toLabEnvelope,
  toNativeJson,
} from '../../src/events/index.js';
import { LAB_ENVELOPE, SPARKOV_LINE } from './fixtures.js';

describe('parsePayload', () => {
  it('detects each format per payload', () => {
    expect(parsePayload(LAB_ENVELOPE)).toMatchObject({ format: 'lab', id: 'random_id' });
    expect(parsePayload('{"id":"n1","timestamp":0,"amount":3}')).toMatchObject({
      format: 'native',
      id: 'n1',
    });
    expect(
      parsePayload(
        '{"trans_num":"s1","cc_num":"1","merchant":"m","amt":"2","trans_date_trans_time":"2020-06-21 12:14:25"}',
      ),
    ).toMatchObject({
      format: 'sparkov',
      id: 's1',
    });
  });

  it('follows the hint, including Sparkov CSV lines', () => {
    expect(parsePayload(SPARKOV_LINE, 'sparkov')).toMatchObject({ format: 'sparkov', amount: 41.96 });
    // A lab envelope forced through the native parser fails on native fields.
    expect((parsePayload(LAB_ENVELOPE, 'native') as ParseError).field).toBe('id');
  });
});

const PARSERS: [string, (payload: never) => Transaction | ParseError][] = [
  ['parsePayload', parsePayload],
  ['parseLabEnvelope', parseLabEnvelope],
  ['parseNativeTransaction', parseNativeTransaction],
  ['parseSparkovRecord', parseSparkovRecord],
  ['parseSparkovCsvLine', parseSparkovCsvLine],
];

function isResult(value: unknown): boolean {
  return (
    value instanceof ParseError || (typeof value === 'object' && value !== null && 'timestampMs' in value)
  );
}

/** JSON values biased towards the field names the parsers look at, so deep paths get exercised. */
const FIELD = fc.constantFrom(
  'data',
  'metadata',
  'id',
  'timestamp',
  'amount',
  'cardId',
  'features',
  'label',
  'Class',
  'trans_num',
  'cc_num',
  'amt',
  'merchant',
  'trans_date_trans_time',
  'is_fraud',
  'lat',
  '__proto__',
);
const NEAR_MISS = fc.dictionary(FIELD, fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string(), fc.double()), {
  maxKeys: 8,
});

describe('parsers never throw', () => {
  it('survives deeply nested JSON and hostile objects', () => {
    const deep = `${'['.repeat(30_000)}${']'.repeat(30_000)}`;
    const hostile = {
      get trans_num(): string {
        throw new Error('boom');
      },
    };
    for (const [, parse] of PARSERS) {
      expect(parse(deep as never)).toBeInstanceOf(ParseError);
      expect(parse(`{"data":${deep}}` as never)).toBeInstanceOf(ParseError);
      expect(parse(hostile as never)).toBeInstanceOf(ParseError);
    }
  });

  for (const [name, parse] of PARSERS) {
    it(`${name}: random strings, bytes and JSON give a Transaction or ParseError`, () => {
      const run = (payload: unknown): void => {
        expect(isResult(parse(payload as never))).toBe(true);
      };
      fc.assert(fc.property(fc.string({ unit: 'binary' }), run), { seed: 1, numRuns: 300 });
      fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), run), { seed: 2, numRuns: 300 });
      fc.assert(
        fc.property(fc.jsonValue(), (value) => run(JSON.stringify(value))),
        { seed: 3, numRuns: 300 },
      );
      fc.assert(
        fc.property(NEAR_MISS, (value) => run(JSON.stringify(value))),
        { seed: 4, numRuns: 300 },
      );
      fc.assert(fc.property(fc.anything(), run), { seed: 5, numRuns: 200 });
    });
  }
});

describe('round trips', () => {
  const transaction = fc.record({
    id: fc.string({ maxLength: 20 }),
    timestampMs: fc.integer({ min: 0, max: Date.UTC(2099, 11, 31) }),
    cardId: fc.string({ maxLength: 20 }),
    terminalId: fc.string({ maxLength: 20 }),
    amount: fc.double({ min: 0, max: 1e7, noNaN: true }),
    channel: fc.constantFrom('web', 'mobile', 'store', 'unknown'),
    features: fc.dictionary(
      fc.string({ minLength: 1, maxLength: 8 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      { maxKeys: 5 },
    ),
    label: fc.constantFrom<0 | 1>(0, 1),
  });

  it('native: toNativeJson then parse gives the same transaction', () => {
    fc.assert(
      fc.property(transaction, (t) => {
        const tx: Transaction = { ...t, format: 'native' };
        // JSON has no negative zero; the parser cannot be expected to bring it back.
        for (const [k, v] of Object.entries(tx.features ?? {})) if (Object.is(v, -0)) tx.features![k] = 0;
        if (Object.is(tx.amount, -0)) tx.amount = 0;
        expect(parseNativeTransaction(toNativeJson(tx))).toEqual(tx);
      }),
      { seed: 6, numRuns: 300 },
    );
  });

  it('lab: toLabEnvelope then parse gives the same features, to the second', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 29, maxLength: 29 }),
        fc.double({ min: 0, max: 1e7, noNaN: true }),
        fc.integer({ min: 0, max: Date.UTC(2099, 11, 31) / 1000 }),
        (values, amount, seconds) => {
          const features: Record<string, number> = {};
          values.forEach((v, i) => {
            features[CREDITCARD_COLUMNS[i]!] = v;
          });
          features.Amount = amount;
          const tx: Transaction = {
            id: 'x',
            timestampMs: seconds * 1000,
            cardId: '',
            terminalId: '',
            amount,
            channel: 'web',
            features,
            label: 1,
            format: 'lab',
          };
          expect(parseLabEnvelope(toLabEnvelope(tx, { includeLabel: true }))).toEqual(tx);
        },
      ),
      { seed: 7, numRuns: 300 },
    );
  });
});
