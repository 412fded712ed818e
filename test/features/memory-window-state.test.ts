import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import type { WindowEvent } from '../../src/features/index.js';
import {
  DAY_MS,
  MemoryWindowState,
  resolveWindowStateOptions,
  windowAggregateCount,
} from '../../src/features/index.js';
import { Random } from '../../src/random/index.js';
import { describeWindowStateConformance } from './window-state-conformance.js';

describeWindowStateConformance('MemoryWindowState', (options) => new MemoryWindowState(options));

const T0 = Date.UTC(2018, 3, 1);

describe('MemoryWindowState', () => {
  it('rejects invalid window options with ConfigError', () => {
    expect(() => resolveWindowStateOptions({ cardWindowsDays: [] })).toThrow(ConfigError);
    expect(() => resolveWindowStateOptions({ terminalWindowsDays: [1, 0] })).toThrow(ConfigError);
    expect(() => resolveWindowStateOptions({ cardWindowsDays: [Number.NaN] })).toThrow(ConfigError);
    expect(() => resolveWindowStateOptions({ delayDays: -1 })).toThrow(ConfigError);
    expect(resolveWindowStateOptions({ delayDays: 0 }).delayDays).toBe(0);
  });

  it('rejects an output buffer that is too small', async () => {
    const state = new MemoryWindowState();
    const e: WindowEvent = { key: 'a', cardId: 'c', terminalId: 't', timestampMs: T0, amount: 1 };
    await expect(state.updateAndRead([e, e], new Float64Array(12))).rejects.toThrow(ConfigError);
  });

  it('forgets idle cards and terminals once their entries expire', () => {
    const state = new MemoryWindowState();
    const out = new Float64Array(12);
    for (let i = 0; i < 500; i++) {
      const e = {
        key: `k${i}`,
        cardId: `c${i}`,
        terminalId: `t${i}`,
        timestampMs: T0 + i * 60_000,
        amount: 1,
      };
      state.updateAndReadSync([e], out);
    }
    expect(state.keyCounts).toEqual({ cards: 500, terminals: 500 });
    const later = { key: 'z', cardId: 'z', terminalId: 'z', timestampMs: T0 + 38 * DAY_MS, amount: 1 };
    state.updateAndReadSync([later], out);
    expect(state.keyCounts).toEqual({ cards: 1, terminals: 1 });
  });

  it('keeps exact sums for a hot card through growth, expiry, compaction and late inserts', () => {
    const state = new MemoryWindowState({ cardWindowsDays: [1, 7], terminalWindowsDays: [1], delayDays: 1 });
    const random = new Random(99);
    const a = windowAggregateCount(state.config);
    const out = new Float64Array(a);
    const history: { t: number; amount: number }[] = [];
    let clock = T0;
    let watermark = T0;
    for (let i = 0; i < 6000; i++) {
      clock += random.int(20 * 60_000);
      // One event in ten arrives up to two hours late, as a transport retry would deliver it.
      const t = random.next() < 0.1 ? clock - random.int(2 * 3_600_000) : clock;
      const amount = Math.round(random.uniform(0, 500) * 100) / 100;
      history.push({ t, amount });
      watermark = Math.max(watermark, t);
      state.updateAndReadSync(
        [{ key: `k${i}`, cardId: 'hot', terminalId: 'T', timestampMs: t, amount }],
        out,
      );
      for (const [w, days] of [1, 7].entries()) {
        let count = 0;
        let sum = 0;
        // Events are at most two hours late, so older history cannot be in any window.
        for (let j = history.length - 1; j >= 0 && history[j]!.t > t - 8 * DAY_MS; j--) {
          const h = history[j]!;
          // Entries at or before W - 7 days (the longest card window) are expired, even for a late read.
          if (h.t > t - days * DAY_MS && h.t <= t && h.t > watermark - 7 * DAY_MS) {
            count++;
            sum += h.amount;
          }
        }
        expect(out[2 * w]).toBe(count);
        expect(out[2 * w + 1]).toBeCloseTo(sum, 5);
      }
    }
  });
});

describe('MemoryWindowState.peek (dry runs)', () => {
  for (const delayDays of [7, 0]) {
    it(`reads what updateAndRead would write and changes nothing (delay ${delayDays} days)`, async () => {
      const peeked = new MemoryWindowState({ delayDays });
      const plain = new MemoryWindowState({ delayDays });
      const stride = windowAggregateCount(peeked.config);
      const rng = new Random(11);
      const seen: WindowEvent[] = [];
      let t = T0;
      for (let i = 0; i < 3_000; i++) {
        t += Math.floor(rng.next() * 4 * 3_600_000);
        // Some events arrive late, some are redeliveries of an earlier one.
        const late = rng.next() < 0.1 ? Math.floor(rng.next() * 3 * DAY_MS) : 0;
        const again = seen.length > 0 && rng.next() < 0.05;
        const e: WindowEvent = again
          ? seen[Math.floor(rng.next() * seen.length)]!
          : {
              key: `k${i}`,
              cardId: rng.next() < 0.05 ? '' : `c${Math.floor(rng.next() * 15)}`,
              terminalId: `t${Math.floor(rng.next() * 8)}`,
              timestampMs: t - late,
              amount: Math.round(rng.next() * 10_000) / 100,
            };
        if (!again) seen.push(e);
        const peek = new Float64Array(stride);
        await peeked.peek([e], peek);
        const expected = new Float64Array(stride);
        await plain.updateAndRead([e], expected);
        // Sums come from prefix sums on one path and a fresh insert on the other: compare to 1e-6.
        const rounded = (a: Float64Array) => Array.from(a, (v) => Math.round(v * 1e6) / 1e6);
        expect(rounded(peek)).toEqual(rounded(expected));
        const after = new Float64Array(stride);
        await peeked.updateAndRead([e], after);
        expect(rounded(after)).toEqual(rounded(expected));
        if (rng.next() < 0.2) {
          const target = seen[Math.floor(rng.next() * seen.length)]!;
          const item = {
            transactionId: target.key,
            cardId: target.cardId,
            terminalId: target.terminalId,
            transactionTimestampMs: target.timestampMs,
            label: (rng.next() < 0.5 ? 1 : 0) as 0 | 1,
            atMs: t + Math.floor(rng.next() * 2 * DAY_MS),
          };
          await peeked.applyFeedback([item]);
          await plain.applyFeedback([item]);
        }
      }
    });
  }
});
