import { describe, expect, it } from 'vitest';
import { BackpressureError, ClosedError, ConfigError } from '../../src/errors/index.js';
import { type DeliveredRecord, MemoryTransport, type OutgoingRecord } from '../../src/transports/index.js';

function records(n: number, from = 0): OutgoingRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    payload: `p${from + i}`,
    partitionKey: `k${(from + i) % 3}`,
  }));
}

async function drain(transport: MemoryTransport, maxBatch = 7): Promise<DeliveredRecord[]> {
  const reader = transport.reader({ maxBatch, maxWaitMs: 5 });
  const seen: DeliveredRecord[] = [];
  for await (const batch of reader) {
    expect(batch.length).toBeLessThanOrEqual(maxBatch);
    seen.push(...batch);
    await reader.ack(batch);
  }
  return seen;
}

describe('MemoryTransport', () => {
  it('delivers records in publish order, in bounded batches, and ends after end()', async () => {
    const t = new MemoryTransport();
    await t.writer().publish(records(20));
    await t.writer().publish(records(5, 20));
    t.end();
    const seen = await drain(t);
    expect(seen.map((r) => r.payload)).toEqual(Array.from({ length: 25 }, (_, i) => `p${i}`));
    expect(new Set(seen.map((r) => r.position)).size).toBe(25);
    expect(seen.every((r) => r.deliveries === 1)).toBe(true);
    expect(t.acked).toBe(25);
  });

  it('redelivers released records before new ones, counting deliveries', async () => {
    const t = new MemoryTransport();
    await t.writer().publish(records(4));
    t.end();
    const reader = t.reader({ maxBatch: 2, maxWaitMs: 5 });
    const deliveries: string[] = [];
    let released = false;
    for await (const batch of reader) {
      deliveries.push(...batch.map((r) => `${r.payload}#${r.deliveries}`));
      if (!released) {
        released = true;
        await reader.release(batch);
      } else {
        await reader.ack(batch);
      }
    }
    expect(deliveries).toEqual(['p0#1', 'p1#1', 'p0#2', 'p1#2', 'p2#1', 'p3#1']);
  });

  it('does not end while records are unacknowledged, and a closing reader gives them back', async () => {
    const t = new MemoryTransport();
    await t.writer().publish(records(3));
    t.end();
    const first = t.reader({ maxBatch: 10, maxWaitMs: 5 });
    const it1 = first[Symbol.asyncIterator]();
    const got = await it1.next();
    expect(got.value).toHaveLength(3);
    expect(t.pending).toBe(3);
    await first.close();
    expect(t.pending).toBe(0);
    const seen = await drain(t);
    expect(seen.map((r) => `${r.payload}#${r.deliveries}`)).toEqual(['p0#2', 'p1#2', 'p2#2']);
  });

  it('yields empty batches after maxWaitMs when idle, so consumers can flush timers', async () => {
    const t = new MemoryTransport();
    const reader = t.reader({ maxWaitMs: 5 });
    const it = reader[Symbol.asyncIterator]();
    const r = await it.next();
    expect(r.done).toBe(false);
    expect(r.value).toEqual([]);
    await reader.close();
  });

  it('close() ends an iteration that is waiting for data', async () => {
    const t = new MemoryTransport();
    const reader = t.reader({ maxWaitMs: 60_000 });
    const batches: number[] = [];
    const loop = (async () => {
      for await (const b of reader) batches.push(b.length);
    })();
    await new Promise((r) => setTimeout(r, 20));
    await reader.close();
    await loop;
    expect(batches).toEqual([]);
  });

  it('blocks producers when full until records are acknowledged', async () => {
    const t = new MemoryTransport({ capacity: 4 });
    let done = false;
    const publishing = t
      .writer()
      .publish(records(10))
      .then(() => {
        done = true;
      });
    await new Promise((r) => setTimeout(r, 10));
    expect(done).toBe(false);
    expect(t.queued).toBe(4);
    const reader = t.reader({ maxBatch: 3, maxWaitMs: 5 });
    const seen: string[] = [];
    for await (const batch of reader) {
      seen.push(...batch.map((r) => r.payload));
      await reader.ack(batch);
      if (seen.length === 10) break;
    }
    await publishing;
    expect(done).toBe(true);
    expect(seen).toEqual(records(10).map((r) => r.payload));
  });

  it('rejects a batch that does not fit when onFull is reject, writing nothing', async () => {
    const t = new MemoryTransport({ capacity: 4, onFull: 'reject' });
    await t.writer().publish(records(3));
    await expect(t.writer().publish(records(2))).rejects.toBeInstanceOf(BackpressureError);
    expect(t.queued).toBe(3);
  });

  it('refuses to publish after end and validates its options', async () => {
    const t = new MemoryTransport();
    t.end();
    await expect(t.writer().publish(records(1))).rejects.toBeInstanceOf(ClosedError);
    expect(() => new MemoryTransport({ capacity: 0 })).toThrow(ConfigError);
    expect(() => t.reader({ maxBatch: 0 })).toThrow(ConfigError);
    expect(() => t.reader({ maxWaitMs: -1 })).toThrow(ConfigError);
  });
});
