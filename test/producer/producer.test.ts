import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import { parsePayload, type Transaction } from '../../src/events/index.js';
import { produce, serializeTransaction } from '../../src/producer/index.js';
import type { Source } from '../../src/sources/index.js';
import type { OutgoingRecord, StreamWriter } from '../../src/transports/index.js';

function tx(i: number, extra: Partial<Transaction> = {}): Transaction {
  return {
    id: `t${i}`,
    timestampMs: Date.UTC(2018, 4, 1) + i * 1000,
    cardId: `c${i % 3}`,
    terminalId: `x${i % 5}`,
    amount: 10 + i,
    channel: 'web',
    format: 'native',
    ...extra,
  };
}

function source(items: Array<Transaction | string>): Source {
  return {
    name: 'test',
    async *records() {
      let line = 0;
      for (const item of items) {
        line++;
        if (typeof item === 'string') yield { kind: 'raw', payload: item, line };
        else yield { kind: 'transaction', transaction: item };
      }
    },
  };
}

class CollectingWriter implements StreamWriter {
  readonly batches: OutgoingRecord[][] = [];
  readonly times: number[] = [];
  async publish(records: readonly OutgoingRecord[]): Promise<void> {
    this.batches.push([...records]);
    this.times.push(performance.now());
  }
  async close(): Promise<void> {}
  get records(): OutgoingRecord[] {
    return this.batches.flat();
  }
}

describe('produce', () => {
  it('serialises transactions, keys them by card, passes raw payloads through and stops at count', async () => {
    const writer = new CollectingWriter();
    const summary = await produce(source([tx(1), '{"not":"parsed"', tx(2), tx(3)]), writer, {
      count: 3,
      batchSize: 2,
    });
    expect(summary.sent).toBe(3);
    expect(writer.batches.map((b) => b.length)).toEqual([2, 1]);
    const [first, raw, second] = writer.records;
    expect(first?.partitionKey).toBe('c1');
    expect(raw?.payload).toBe('{"not":"parsed"');
    const parsed = parsePayload(second!.payload);
    expect(parsed).toMatchObject({ id: 't2', cardId: 'c2', amount: 12 });
  });

  it('counts transactions the chosen format cannot express, with the reason, and goes on', async () => {
    const writer = new CollectingWriter();
    const summary = await produce(source([tx(1), tx(2)]), writer, { format: 'lab' });
    expect(summary.sent).toBe(0);
    expect(summary.errors).toBe(2);
    expect(Object.values(summary.errorReasons)).toEqual([2]);
  });

  it('sends the lab envelope for Kaggle-schema rows in auto format', () => {
    const features: Record<string, number> = { Time: 0, Amount: 5 };
    for (let i = 1; i <= 28; i++) features[`V${i}`] = i / 10;
    const lab = serializeTransaction(tx(1, { features, format: 'lab', amount: 5 }), 'auto');
    expect(lab.startsWith('{"data": "')).toBe(true);
    expect(serializeTransaction(tx(1), 'auto').startsWith('{"id"')).toBe(true);
  });

  it('keeps a steady rate when asked (schedule, not timing: the last batch is due at (n-1)/rate)', async () => {
    const writer = new CollectingWriter();
    const started = performance.now();
    const summary = await produce(source(Array.from({ length: 60 }, (_, i) => tx(i))), writer, {
      pacing: { kind: 'rate', perSecond: 600 },
    });
    expect(summary.sent).toBe(60);
    // 600/s in batches of 1 (about 500 publishes a second): 60 publishes, at least 98 ms apart in total.
    expect(writer.batches.every((b) => b.length === 1)).toBe(true);
    expect(writer.times[writer.times.length - 1]! - started).toBeGreaterThanOrEqual(95);
  });

  it('stamps transactions with the send time when asked, as the lab does', async () => {
    const writer = new CollectingWriter();
    const before = Date.now();
    await produce(source([tx(1)]), writer, { stampNow: true });
    const parsed = parsePayload(writer.records[0]!.payload) as Transaction;
    expect(parsed.timestampMs).toBeGreaterThanOrEqual(before);
  });

  it('stops early on abort and validates its options', async () => {
    const writer = new CollectingWriter();
    const abort = new AbortController();
    abort.abort();
    expect((await produce(source([tx(1), tx(2)]), writer, { signal: abort.signal })).sent).toBe(0);
    await expect(
      produce(source([]), writer, { pacing: { kind: 'rate', perSecond: 0 } }),
    ).rejects.toBeInstanceOf(ConfigError);
    await expect(produce(source([]), writer, { count: -1 })).rejects.toBeInstanceOf(ConfigError);
  });
});
