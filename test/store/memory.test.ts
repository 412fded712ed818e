import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import { MemoryStore, TimeSeriesBuffer } from '../../src/store/index.js';
import { describeStoreConformance, scored } from './store-conformance.js';

describeStoreConformance('memory', async () => new MemoryStore());

describe('MemoryStore', () => {
  it('drops the oldest documents beyond maxTransactions', async () => {
    const store = new MemoryStore({ maxTransactions: 3 });
    const now = Date.now();
    await store.persistBatch([1, 2, 3, 4, 5].map((i) => scored(i, now + i, 'approve', 0.1)));
    expect(await store.countTransactions()).toBe(3);
    expect(await store.getTransaction(scored(1, 0, 'approve', 0).key)).toBeUndefined();
    expect(await store.getTransaction(scored(5, 0, 'approve', 0).key)).toBeDefined();
  });

  it('rejects invalid options', () => {
    expect(() => new MemoryStore({ retentionMs: 0 })).toThrow(ConfigError);
  });
});

describe('TimeSeriesBuffer', () => {
  it('keeps late points in order and forgets points beyond retention', () => {
    const s = new TimeSeriesBuffer(1_000);
    for (let i = 0; i < 3000; i++) s.add(i, i);
    s.add(2990.5, -1);
    const r = s.range(2989, 2992);
    expect(r.map((p) => p.t)).toEqual([2989, 2990, 2990.5, 2991, 2992]);
    expect(s.range(0, 1000)).toEqual([]);
    expect(s.length).toBeLessThanOrEqual(1002);
  });
});
