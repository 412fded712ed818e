import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import { CREDITCARD_COLUMNS } from '../../src/events/index.js';
import {
  CREDITCARD_CLASS_STATS,
  createSyntheticCreditcardSource,
  type SourceRecord,
} from '../../src/sources/index.js';
import { collect, tempDir, transactions } from './helpers.js';

const file = tempDir('synthetic');

describe('CREDITCARD_CLASS_STATS', () => {
  it('is the JSON file it was generated from', () => {
    const json = JSON.parse(
      readFileSync(new URL('../../src/sources/data/creditcard-class-stats.json', import.meta.url), 'utf8'),
    );
    expect(CREDITCARD_CLASS_STATS).toEqual(json);
  });
});

describe('createSyntheticCreditcardSource', () => {
  const N = 20_000;
  const rows = collect(createSyntheticCreditcardSource({ seed: 11, count: N, fraudRate: 0.5 }));

  it('draws each class around its published means', async () => {
    const txs = transactions(await rows);
    expect(txs).toHaveLength(N);
    for (const label of [0, 1] as const) {
      const own = txs.filter((t) => t.label === label);
      // fraudRate 0.5: Binomial(20000, 0.5) has sd ≈ 71.
      expect(Math.abs(own.length - N / 2)).toBeLessThan(400);
      const { mean, std } = CREDITCARD_CLASS_STATS.classes[label];
      for (let j = 1; j < 30; j++) {
        const name = CREDITCARD_COLUMNS[j]!;
        const sample = own.reduce((s, t) => s + t.features![name]!, 0) / own.length;
        // 5 standard errors; the log-normal Amount is skewed, so it gets twice that.
        const tolerance = ((name === 'Amount' ? 10 : 5) * std[j]!) / Math.sqrt(own.length);
        expect(Math.abs(sample - mean[j]!), `${name} class ${label}`).toBeLessThan(tolerance);
      }
    }
  });

  it('separates the classes on V14 and V17 as the real data does', async () => {
    const txs = transactions(await rows);
    const mean = (label: 0 | 1, name: string): number => {
      const own = txs.filter((t) => t.label === label);
      return own.reduce((s, t) => s + t.features![name]!, 0) / own.length;
    };
    expect(mean(1, 'V14')).toBeLessThan(mean(0, 'V14') - 3);
    expect(mean(1, 'V17')).toBeLessThan(mean(0, 'V17') - 3);
    expect(mean(1, 'V4')).toBeGreaterThan(mean(0, 'V4') + 2);
  });

  it('keeps Time increasing, amounts non-negative and timestamps consistent', async () => {
    const txs = transactions(await rows);
    let previous = -1;
    for (const t of txs) {
      const time = t.features!.Time!;
      expect(time).toBeGreaterThanOrEqual(previous);
      expect(Number.isInteger(time)).toBe(true);
      previous = time;
      expect(t.amount).toBeGreaterThanOrEqual(0);
      expect(t.amount).toBe(t.features!.Amount);
      expect(t.timestampMs).toBe(Date.UTC(2013, 8, 1) + time * 1000);
      expect(t.id.startsWith('synthetic-')).toBe(true);
    }
    // 20,000 gaps of mean 0.607 s ≈ 12,130 s.
    expect(previous).toBeGreaterThan(11_000);
    expect(previous).toBeLessThan(13_300);
  });

  it('uses the default fraud rate of the real file', async () => {
    const txs = transactions(await collect(createSyntheticCreditcardSource({ seed: 3, count: 50_000 })));
    const frauds = txs.filter((t) => t.label === 1).length;
    // Binomial(50000, 0.00172): mean 86, sd ≈ 9.3.
    expect(frauds).toBeGreaterThan(86 - 40);
    expect(frauds).toBeLessThan(86 + 40);
  });

  it('is deterministic for a seed and unbounded without a count', async () => {
    const a = await collect(createSyntheticCreditcardSource({ seed: 5 }), 3000);
    const b = await collect(createSyntheticCreditcardSource({ seed: 5 }), 3000);
    const c = await collect(createSyntheticCreditcardSource({ seed: 6 }), 3000);
    expect(a).toHaveLength(3000);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('loads statistics from statsPath and validates them', async () => {
    const stats = JSON.parse(JSON.stringify(CREDITCARD_CLASS_STATS));
    stats.classes['0'].mean[14] = 100;
    stats.classes['0'].std[14] = 0;
    const path = file('stats.json');
    writeFileSync(path, JSON.stringify(stats));
    const records: SourceRecord[] = await collect(
      createSyntheticCreditcardSource({ seed: 1, count: 50, fraudRate: 0, statsPath: path }),
    );
    expect(transactions(records).every((t) => t.features!.V14 === 100)).toBe(true);
    stats.classes['1'].std.pop();
    writeFileSync(path, JSON.stringify(stats));
    expect(() => createSyntheticCreditcardSource({ seed: 1, statsPath: path })).toThrow(/classes\.1\.std/);
    expect(() => createSyntheticCreditcardSource({ seed: 1, statsPath: file('missing.json') })).toThrow(
      ConfigError,
    );
    expect(() => createSyntheticCreditcardSource({ seed: 1.5 })).toThrow(ConfigError);
    expect(() => createSyntheticCreditcardSource({ seed: 1, fraudRate: 2 })).toThrow(ConfigError);
  });
});
