import { describe, expect, it } from 'vitest';
import { ParseError } from '../../src/errors/index.js';
import {
  CREDITCARD_COLUMNS,
  formatPythonFloat,
  MAX_PAYLOAD_BYTES,
  parseLabEnvelope,
  type Transaction,
  toLabEnvelope,
} from '../../src/events/index.js';
import { LAB_DATA, LAB_ENVELOPE } from './fixtures.js';

function ok(result: Transaction | ParseError): Transaction {
  if (result instanceof ParseError) throw new Error(`unexpected ParseError ${result.message}`);
  return result;
}

function envelope(data: string, metadata: unknown = ['2024-01-01 10:00:00', 'random_id', 'Web']): string {
  return JSON.stringify({ data, metadata });
}

function replaceColumn(index: number, value: string): string {
  const parts = LAB_DATA.split(',');
  parts[index] = value;
  return parts.join(',');
}

describe('parseLabEnvelope', () => {
  it('reads the producer2.py envelope', () => {
    const tx = ok(parseLabEnvelope(LAB_ENVELOPE));
    expect(tx.id).toBe('random_id');
    expect(tx.timestampMs).toBe(Date.UTC(2024, 0, 1, 10, 0, 0));
    expect(tx.channel).toBe('web');
    expect(tx.cardId).toBe('');
    expect(tx.terminalId).toBe('');
    expect(tx.format).toBe('lab');
    expect(tx.amount).toBe(149.62);
    expect(Object.keys(tx.features ?? {})).toEqual([...CREDITCARD_COLUMNS]);
    expect(tx.features?.V1).toBe(-1.3598071336738);
    expect(tx.features?.Amount).toBe(149.62);
    expect(tx.label).toBeUndefined();
    expect(tx.extra).toBeUndefined();
  });

  it('reads bytes the same as text', () => {
    expect(parseLabEnvelope(new TextEncoder().encode(LAB_ENVELOPE))).toEqual(parseLabEnvelope(LAB_ENVELOPE));
  });

  it('takes Class as the label and keeps unknown fields in extra', () => {
    const payload = JSON.stringify({
      data: LAB_DATA,
      metadata: ['2024-01-01 10:00:00', 'x', 'Mobile'],
      Class: 1,
      source: 'replay',
    });
    const tx = ok(parseLabEnvelope(payload));
    expect(tx.label).toBe(1);
    expect(tx.channel).toBe('mobile');
    expect(tx.extra).toEqual({ source: 'replay' });
  });

  it.each([
    ['wrong field count', envelope(LAB_DATA.split(',').slice(0, 29).join(',')), 'data', /expected 30/],
    ['31 fields', envelope(`${LAB_DATA},0`), 'data', /got 31/],
    ['non-numeric value', envelope(replaceColumn(3, 'abc')), 'data.V3', /"abc"/],
    ['NaN', envelope(replaceColumn(5, 'NaN')), 'data.V5', /"NaN"/],
    ['Infinity', envelope(replaceColumn(7, 'Infinity')), 'data.V7', /"Infinity"/],
    ['empty value', envelope(replaceColumn(2, '')), 'data.V2', /""/],
    ['hex value', envelope(replaceColumn(2, '0x10')), 'data.V2', /"0x10"/],
    ['negative amount', envelope(replaceColumn(29, '-5')), 'data.Amount', /negative.*"-5"/],
    ['absurd amount', envelope(replaceColumn(29, '20000000')), 'data.Amount', /limit.*"20000000"/],
    ['data as array', JSON.stringify({ data: [1, 2], metadata: [] }), 'data', /array/],
    ['missing metadata', JSON.stringify({ data: LAB_DATA }), 'metadata', /nothing/],
    ['short metadata', envelope(LAB_DATA, ['2024-01-01 10:00:00', 'x']), 'metadata', /3 entries/],
    ['timestamp not a string', envelope(LAB_DATA, [5, 'x', 'Web']), 'metadata[0]', /got 5/],
    ['unparseable timestamp', envelope(LAB_DATA, ['yesterday', 'x', 'Web']), 'metadata[0]', /"yesterday"/],
    ['impossible date', envelope(LAB_DATA, ['2023-02-29 10:00:00', 'x', 'Web']), 'metadata[0]', /2023-02-29/],
    ['before 1970', envelope(LAB_DATA, ['1969-12-31 23:59:59', 'x', 'Web']), 'metadata[0]', /range/],
    ['after 2099', envelope(LAB_DATA, ['2100-01-01 00:00:00', 'x', 'Web']), 'metadata[0]', /range/],
    ['id as object', envelope(LAB_DATA, ['2024-01-01 10:00:00', {}, 'Web']), 'metadata[1]', /object/],
    [
      'bad Class',
      JSON.stringify({ data: LAB_DATA, metadata: ['2024-01-01 10:00:00', 'x', 'Web'], Class: 2 }),
      'Class',
      /got 2/,
    ],
    ['truncated JSON', LAB_ENVELOPE.slice(0, 40), 'payload', /invalid JSON/],
    ['empty payload', '', 'payload', /empty/],
    ['blank payload', '  \n', 'payload', /empty/],
    ['JSON array', '[1,2]', 'payload', /JSON object/],
  ])('rejects %s', (_name, payload, field, reason) => {
    const result = parseLabEnvelope(payload);
    expect(result).toBeInstanceOf(ParseError);
    const error = result as ParseError;
    expect(error.field).toBe(field);
    expect(error.reason).toMatch(reason);
    expect(error.reason).not.toContain('\n');
  });

  it('rejects payloads over MAX_PAYLOAD_BYTES before parsing them', () => {
    const big = `{"data": "${'1,'.repeat(MAX_PAYLOAD_BYTES / 2)}"}`;
    const text = parseLabEnvelope(big);
    expect(text).toBeInstanceOf(ParseError);
    expect((text as ParseError).reason).toMatch(/exceeds/);
    const bytes = parseLabEnvelope(new Uint8Array(MAX_PAYLOAD_BYTES + 1).fill(0x20));
    expect((bytes as ParseError).reason).toMatch(/exceeds/);
    // Multi-byte characters count by their UTF-8 size, not by string length.
    const wide = parseLabEnvelope(`"${'€'.repeat(MAX_PAYLOAD_BYTES / 3 + 1)}"`);
    expect((wide as ParseError).reason).toMatch(/exceeds/);
  });

  it('rejects invalid UTF-8 bytes', () => {
    const result = parseLabEnvelope(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]));
    expect((result as ParseError).reason).toMatch(/UTF-8/);
  });

  it('quotes long bad values truncated, on one line', () => {
    const result = parseLabEnvelope(envelope(LAB_DATA, [`${'9'.repeat(200)}\nx`, 'x', 'Web'])) as ParseError;
    expect(result.reason.length).toBeLessThan(120);
    expect(result.reason).not.toContain('\n');
  });
});

describe('toLabEnvelope', () => {
  it('gives back the producer2.py bytes it was parsed from', () => {
    expect(toLabEnvelope(ok(parseLabEnvelope(LAB_ENVELOPE)))).toBe(LAB_ENVELOPE);
  });

  it('round-trips a transaction (whole seconds, lower-case channel)', () => {
    const features: Record<string, number> = {};
    CREDITCARD_COLUMNS.forEach((name, i) => {
      features[name] = i === 0 ? 3600 : (i * 0.123456789) / 7 - 1;
    });
    features.Amount = 12.5;
    const tx: Transaction = {
      id: 'tx-1',
      timestampMs: Date.UTC(2025, 5, 30, 23, 59, 59),
      cardId: '',
      terminalId: '',
      amount: 12.5,
      channel: 'store',
      features,
      label: 1,
      format: 'lab',
    };
    const withLabel = ok(parseLabEnvelope(toLabEnvelope(tx, { includeLabel: true })));
    expect(withLabel).toEqual(tx);
    const { label: _dropped, ...withoutLabel } = tx;
    expect(ok(parseLabEnvelope(toLabEnvelope(tx)))).toEqual(withoutLabel);
  });

  it('escapes non-ASCII like Python json.dumps', () => {
    const tx = ok(parseLabEnvelope(LAB_ENVELOPE));
    tx.id = 'ré_id\u2028😀';
    // Expected bytes from Python: json.dumps(["ré_id\u2028😀"]) → ["r\u00e9_id\u2028\ud83d\ude00"]
    expect(toLabEnvelope(tx)).toContain('"r\\u00e9_id\\u2028\\ud83d\\ude00"');
  });
});

describe('formatPythonFloat', () => {
  // Expected strings printed by CPython 3 repr().
  it.each([
    [0, '0.0'],
    [-0, '-0.0'],
    [1, '1.0'],
    [-1.3598071336738, '-1.3598071336738'],
    [149.62, '149.62'],
    [1e-5, '1e-05'],
    [0.0001, '0.0001'],
    [1.5e-7, '1.5e-07'],
    [1e16, '1e+16'],
    [1.5e16, '1.5e+16'],
    [123456789012345, '123456789012345.0'],
    [1234567890123456, '1234567890123456.0'],
    [0.1, '0.1'],
    [2.5e-310, '2.5e-310'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [172792, '172792.0'],
    [-0.000123, '-0.000123'],
  ])('%d → %s', (value, expected) => {
    expect(formatPythonFloat(value)).toBe(expected);
    expect(Number(formatPythonFloat(value))).toBe(value);
  });
});
