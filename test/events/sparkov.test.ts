import { describe, expect, it } from 'vitest';
import { ParseError } from '../../src/errors/index.js';
import {
  parsePayload,
  parseSparkovCsvLine,
  parseSparkovRecord,
  SPARKOV_COLUMNS,
  splitCsvLine,
  type Transaction,
} from '../../src/events/index.js';
import { SPARKOV_LINE } from './fixtures.js';

function ok(result: Transaction | ParseError): Transaction {
  if (result instanceof ParseError) throw new Error(`unexpected ParseError ${result.message}`);
  return result;
}

/** The row of SPARKOV_LINE as producer.py would send it: a JSON object, numbers as numbers. */
const RECORD = {
  id: 3,
  trans_date_trans_time: '2019-01-01 00:01:16',
  cc_num: 4992346398065154000, // what JSON.parse makes of 4992346398065154184
  merchant: 'fraud_Swaniawski, Nitzsche and Welch',
  category: 'misc_net',
  amt: 41.96,
  first: 'Tyler',
  last: 'Garcia',
  gender: 'M',
  street: '408 Bradley Rest',
  city: 'Doe Hill',
  state: 'VA',
  zip: 24433,
  lat: 38.4207,
  long: -79.4629,
  city_pop: 99,
  job: 'Dance movement psychotherapist, "senior"',
  dob: '1986-03-28',
  trans_num: 'a41d7549acf90789359a9aa5346dcb46',
  unix_time: 1325376076,
  merch_lat: 38.674999,
  merch_long: -78.632459,
  is_fraud: 1,
};

describe('splitCsvLine', () => {
  it('unquotes fields with commas and doubled quotes', () => {
    expect(splitCsvLine('a,"b, c","say ""hi""",,"",d')).toEqual(['a', 'b, c', 'say "hi"', '', '', 'd']);
    expect(splitCsvLine('1,2,')).toEqual(['1', '2', '']);
  });
  it('rejects broken quoting', () => {
    expect(splitCsvLine('a,"b,c')).toBeUndefined();
    expect(splitCsvLine('a,"b"x,c')).toBeUndefined();
    expect(splitCsvLine('a,b"c",d')).toBeUndefined();
  });
});

describe('parseSparkovCsvLine', () => {
  it('maps a row with quoted commas', () => {
    const tx = ok(parseSparkovCsvLine(SPARKOV_LINE));
    expect(tx.id).toBe('a41d7549acf90789359a9aa5346dcb46');
    expect(tx.cardId).toBe('4992346398065154184');
    expect(tx.terminalId).toBe('fraud_Swaniawski, Nitzsche and Welch');
    expect(tx.amount).toBe(41.96);
    expect(tx.timestampMs).toBe(Date.UTC(2019, 0, 1, 0, 1, 16));
    expect(tx.channel).toBe('web');
    expect(tx.label).toBe(1);
    expect(tx.format).toBe('sparkov');
    expect(tx.features).toEqual({
      lat: 38.4207,
      long: -79.4629,
      city_pop: 99,
      merch_lat: 38.674999,
      merch_long: -78.632459,
      unix_time: 1325376076,
    });
    expect(tx.extra?.job).toBe('Dance movement psychotherapist, "senior"');
    expect(tx.extra?.category).toBe('misc_net');
    expect(tx.extra?.id).toBe('3');
  });

  it.each([
    ['grocery_pos', 'store'],
    ['shopping_net', 'web'],
    ['gas_transport', 'unknown'],
  ])('derives the channel of category %s', (category, channel) => {
    expect(ok(parseSparkovCsvLine(SPARKOV_LINE.replace('misc_net', category))).channel).toBe(channel);
  });

  it.each([
    [
      'too few fields',
      SPARKOV_LINE.slice(0, SPARKOV_LINE.lastIndexOf(',')),
      'line',
      /expected 23 fields, got 22/,
    ],
    ['unterminated quote', SPARKOV_LINE.replace('and Welch"', 'and Welch'), 'line', /quoting/],
    ['bad amount', SPARKOV_LINE.replace(',41.96,', ',4l.96,'), 'amt', /"4l.96"/],
    ['negative amount', SPARKOV_LINE.replace(',41.96,', ',-41.96,'), 'amt', /negative/],
    [
      'bad time',
      SPARKOV_LINE.replace('2019-01-01 00:01:16', '2019-13-01 00:01:16'),
      'trans_date_trans_time',
      /2019-13/,
    ],
    ['bad latitude', SPARKOV_LINE.replace('38.4207', 'north'), 'lat', /"north"/],
    ['bad label', SPARKOV_LINE.replace(/,1$/, ',yes'), 'is_fraud', /"yes"/],
    ['empty trans_num', SPARKOV_LINE.replace('a41d7549acf90789359a9aa5346dcb46', ''), 'trans_num', /""/],
    ['the header itself', SPARKOV_COLUMNS.join(','), 'trans_date_trans_time', /"trans_date_trans_time"/],
  ])('rejects %s', (_name, line, field, reason) => {
    const result = parseSparkovCsvLine(line) as ParseError;
    expect(result).toBeInstanceOf(ParseError);
    expect(result.field).toBe(field);
    expect(result.reason).toMatch(reason);
  });
});

describe('parseSparkovRecord', () => {
  it('reads the producer.py JSON object the same as the CSV line', () => {
    const fromCsv = ok(parseSparkovCsvLine(SPARKOV_LINE));
    const fromText = ok(
      parseSparkovRecord(JSON.stringify(RECORD).replace('4992346398065154000', '4992346398065154184')),
    );
    // Card numbers sent as JSON numbers beyond 2^53 are recovered digit-exact from the text.
    expect(fromText.cardId).toBe('4992346398065154184');
    const { extra: csvExtra, ...csvRest } = fromCsv;
    const { extra: jsonExtra, ...jsonRest } = fromText;
    expect(jsonRest).toEqual(csvRest);
    expect(Object.keys(jsonExtra ?? {})).toEqual(Object.keys(csvExtra ?? {}));
    // Detected per payload, too.
    expect(parsePayload(JSON.stringify(RECORD))).toMatchObject({ format: 'sparkov', id: fromCsv.id });
  });

  it('accepts an already-parsed object with string values', () => {
    const strings = Object.fromEntries(Object.entries(RECORD).map(([k, v]) => [k, String(v)]));
    strings.cc_num = '4992346398065154184';
    const tx = ok(parseSparkovRecord(strings));
    expect(tx.cardId).toBe('4992346398065154184');
    expect(tx.amount).toBe(41.96);
    expect(tx.label).toBe(1);
  });

  it('treats empty is_fraud as unlabelled and rejects a missing merchant', () => {
    expect(ok(parseSparkovRecord({ ...RECORD, is_fraud: '' })).label).toBeUndefined();
    const { merchant: _m, ...noMerchant } = RECORD;
    expect((parseSparkovRecord(noMerchant) as ParseError).field).toBe('merchant');
    expect((parseSparkovRecord({ ...RECORD, amt: { v: 1 } }) as ParseError).field).toBe('amt');
    expect((parseSparkovRecord(42) as ParseError).field).toBe('payload');
  });
});
