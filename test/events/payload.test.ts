import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../src/errors/index.js';
import {
  parseLabEnvelope,
  parseNativeTransaction,
  parsePayload,
  parseSparkovCsvLine,
  parseSparkovRecord,
  type Transaction,
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
