import { describe, expect, it } from 'vitest';
import { ParseError } from '../../src/errors/index.js';
import { parseNativeTransaction, type Transaction, toNativeJson } from '../../src/events/index.js';

const BASE = {
  id: 't-1',
  timestamp: '2024-03-05T12:34:56.789Z',
  cardId: 'C1',
  terminalId: 'T9',
  amount: 42.5,
  channel: 'web',
};

function ok(result: Transaction | ParseError): Transaction {
  if (result instanceof ParseError) throw new Error(`unexpected ParseError ${result.message}`);
  return result;
}

function withField(key: string, value: unknown): string {
  return JSON.stringify({ ...BASE, [key]: value });
}

describe('parseNativeTransaction', () => {
  it('reads every field', () => {
    const tx = ok(
      parseNativeTransaction(
        JSON.stringify({
          ...BASE,
          channel: 'Mobile',
          features: { a: 1, b: -2.5 },
          label: 1,
          note: { x: [1] },
        }),
      ),
    );
    expect(tx).toEqual({
      id: 't-1',
      timestampMs: Date.UTC(2024, 2, 5, 12, 34, 56, 789),
      cardId: 'C1',
      terminalId: 'T9',
      amount: 42.5,
      channel: 'mobile',
      features: { a: 1, b: -2.5 },
      label: 1,
      extra: { note: { x: [1] } },
      format: 'native',
    });
  });

  it.each([
    ['2024-03-05T12:34:56.789Z', Date.UTC(2024, 2, 5, 12, 34, 56, 789)],
    ['2024-03-05T12:34:56Z', Date.UTC(2024, 2, 5, 12, 34, 56)],
    ['2024-03-05T12:34:56', Date.UTC(2024, 2, 5, 12, 34, 56)],
    ['2024-03-05 12:34', Date.UTC(2024, 2, 5, 12, 34)],
    ['2024-03-05', Date.UTC(2024, 2, 5)],
    ['2024-03-05T12:34:56.5+02:00', Date.UTC(2024, 2, 5, 10, 34, 56, 500)],
    ['2024-03-05T00:10:00-0130', Date.UTC(2024, 2, 5, 1, 40)],
    [1_709_642_096_789, 1_709_642_096_789],
  ])('reads timestamp %s as UTC', (timestamp, expected) => {
    expect(ok(parseNativeTransaction(withField('timestamp', timestamp))).timestampMs).toBe(expected);
  });

  it('keeps card numbers beyond 2^53 digit-exact and defaults optional fields', () => {
    const payload = '{"id": 7, "timestamp": 0, "amount": 0, "cardId": 4992346398065154184}';
    const tx = ok(parseNativeTransaction(payload));
    expect(tx.id).toBe('7');
    expect(tx.cardId).toBe('4992346398065154184');
    expect(tx.terminalId).toBe('');
    expect(tx.channel).toBe('unknown');
    expect(tx.features).toBeUndefined();
    expect(tx.label).toBeUndefined();
  });

  it('keeps a __proto__ field as data, not as a prototype', () => {
    const tx = ok(parseNativeTransaction('{"id":"a","timestamp":0,"amount":1,"__proto__":{"polluted":1}}'));
    expect(Object.getPrototypeOf(tx.extra)).toBe(Object.prototype);
    expect(Object.hasOwn(tx.extra ?? {}, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['amount as object', withField('amount', { value: 1 }), 'amount', /object/],
    ['amount as string', withField('amount', '12'), 'amount', /"12"/],
    ['negative amount', withField('amount', -0.01), 'amount', /negative/],
    ['absurd amount', withField('amount', 1e9), 'amount', /limit/],
    ['missing amount', JSON.stringify({ ...BASE, amount: undefined }), 'amount', /nothing/],
    ['missing timestamp', JSON.stringify({ ...BASE, timestamp: undefined }), 'timestamp', /nothing/],
    ['unparseable timestamp', withField('timestamp', '05/03/2024'), 'timestamp', /"05\/03\/2024"/],
    ['timestamp before 1970', withField('timestamp', -1), 'timestamp', /range/],
    ['timestamp after 2099', withField('timestamp', '2150-01-01T00:00:00Z'), 'timestamp', /range/],
    ['timestamp in microseconds', withField('timestamp', 1_709_642_096_789_000), 'timestamp', /range/],
    ['timestamp with garbage', withField('timestamp', '2024-03-05T12:34:56Zjunk'), 'timestamp', /junk/],
    ['timestamp cut short', withField('timestamp', '2024-03-05T1'), 'timestamp', /"2024-03-05T1"/],
    ['year 70 is not 1970', withField('timestamp', '0070-01-01T00:00:00Z'), 'timestamp', /range/],
    ['hour 24', withField('timestamp', '2024-03-05T24:00:00Z'), 'timestamp', /T24/],
    ['missing id', JSON.stringify({ ...BASE, id: undefined }), 'id', /nothing/],
    ['id as array', withField('id', ['a']), 'id', /array/],
    ['cardId as boolean', withField('cardId', true), 'cardId', /true/],
    ['channel as number', withField('channel', 3), 'channel', /3/],
    ['features as array', withField('features', [1]), 'features', /array/],
    ['feature not a number', withField('features', { a: '1' }), 'features.a', /"1"/],
    ['label 2', withField('label', 2), 'label', /got 2/],
    ['truncated JSON', JSON.stringify(BASE).slice(0, 25), 'payload', /invalid JSON/],
    ['JSON null', 'null', 'payload', /null/],
    ['JSON string', '"x"', 'payload', /JSON object/],
    ['empty', '', 'payload', /empty/],
  ])('rejects %s', (_name, payload, field, reason) => {
    const result = parseNativeTransaction(payload) as ParseError;
    expect(result).toBeInstanceOf(ParseError);
    expect(result.field).toBe(field);
    expect(result.reason).toMatch(reason);
  });
});

describe('toNativeJson', () => {
  it('writes the timestamp as ISO-8601 with milliseconds', () => {
    const tx = ok(parseNativeTransaction(JSON.stringify(BASE)));
    expect(JSON.parse(toNativeJson(tx)).timestamp).toBe('2024-03-05T12:34:56.789Z');
  });

  it('round-trips transactions, extra fields included', () => {
    const tx: Transaction = {
      id: 'abc',
      timestampMs: Date.UTC(2019, 11, 31, 23, 59, 59, 999),
      cardId: '4992346398065154184',
      terminalId: 'fraud_Swaniawski, Nitzsche and Welch',
      amount: 0.1 + 0.2,
      channel: 'store',
      features: { x: 1e-9, y: -3 },
      label: 0,
      extra: { category: 'misc_net', nested: { deep: [1, 'two', null] } },
      format: 'native',
    };
    expect(ok(parseNativeTransaction(toNativeJson(tx)))).toEqual(tx);
    const bare: Transaction = { ...tx, features: undefined, label: undefined, extra: undefined };
    for (const key of ['features', 'label', 'extra'] as const) delete bare[key];
    expect(ok(parseNativeTransaction(toNativeJson(bare)))).toEqual(bare);
  });
});
