/**
 * Conformance suite of the {@link CardHistoryState} contract. Every implementation (memory,
 * Redis) runs it: `describeCardHistoryConformance('Redis', (options) => connect(options))`.
 * The factory must return a fresh, empty state for each call; the suite closes it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CardHistoryOptions, CardHistoryState, WindowEvent } from '../../src/features/index.js';
import { CARD_HISTORY_STRIDE, DAY_MS } from '../../src/features/index.js';
import { Random } from '../../src/random/index.js';

export type CardHistoryFactory = (
  options?: CardHistoryOptions,
) => CardHistoryState | Promise<CardHistoryState>;

const T0 = Date.UTC(2018, 3, 1);
const HOUR_MS = 3_600_000;

function ev(key: string, cardId: string, terminalId: string, timestampMs: number, amount = 1): WindowEvent {
  return { key, cardId, terminalId, timestampMs, amount };
}

/** The contract written as plainly as possible, to compare implementations against. */
export function referenceCardHistory(events: readonly WindowEvent[], horizonDays = 30): number[][] {
  const H = horizonDays * DAY_MS;
  const cards = new Map<string, { wc: number; entries: WindowEvent[] }>();
  return events.map((e) => {
    if (e.cardId === '') return Array(CARD_HISTORY_STRIDE).fill(Number.NaN);
    let card = cards.get(e.cardId);
    if (!card) {
      card = { wc: Number.NEGATIVE_INFINITY, entries: [] };
      cards.set(e.cardId, card);
    }
    const t = e.timestampMs;
    card.wc = Math.max(card.wc, t);
    const wc = card.wc;
    card.entries = card.entries.filter((x) => x.timestampMs > wc - H);
    const stored = card.entries.some((x) => x.key === e.key && x.timestampMs === t);
    if (t > wc - H && !stored) card.entries.push(e);
    const others = card.entries
      .filter((x) => x.timestampMs > t - H && x.timestampMs <= t && !(x.key === e.key && x.timestampMs === t))
      .sort((a, b) => a.timestampMs - b.timestampMs);
    const amounts = others.map((x) => x.amount);
    const terminals = new Set(others.map((x) => x.terminalId).filter((x) => x !== ''));
    if (e.terminalId !== '') terminals.add(e.terminalId);
    return [
      others.length > 0 ? t - Math.max(...others.map((x) => x.timestampMs)) : Number.NaN,
      others.length,
      amounts.reduce((s, a) => s + a, 0),
      amounts.reduce((s, a) => s + a * a, 0),
      others.length > 0 ? Math.max(...amounts) : Number.NaN,
      e.terminalId === '' ? Number.NaN : others.filter((x) => x.terminalId === e.terminalId).length,
      terminals.size,
    ];
  });
}

function rows(out: Float64Array, n: number): number[][] {
  return Array.from({ length: n }, (_, i) =>
    Array.from(out.subarray(i * CARD_HISTORY_STRIDE, (i + 1) * CARD_HISTORY_STRIDE)),
  );
}

function expectClose(actual: number[][], expected: number[][]): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    for (let j = 0; j < CARD_HISTORY_STRIDE; j++) {
      const a = actual[i]![j]!;
      const b = expected[i]![j]!;
      if (Number.isNaN(b)) expect(a, `event ${i} field ${j}`).toBeNaN();
      else expect(a, `event ${i} field ${j}`).toBeCloseTo(b, 6);
    }
  }
}

export function describeCardHistoryConformance(name: string, factory: CardHistoryFactory): void {
  describe(`CardHistoryState conformance: ${name}`, () => {
    const open: CardHistoryState[] = [];
    const make = async (options?: CardHistoryOptions): Promise<CardHistoryState> => {
      const state = await factory(options);
      open.push(state);
      return state;
    };
    const run = async (state: CardHistoryState, events: WindowEvent[]): Promise<number[][]> => {
      const out = new Float64Array(events.length * CARD_HISTORY_STRIDE);
      await state.updateAndRead(events, out);
      return rows(out, events.length);
    };
    afterEach(async () => {
      for (const state of open.splice(0)) await state.close?.();
    });

    it('defaults to a 30-day horizon', async () => {
      expect((await make()).config.horizonDays).toBe(30);
      expect((await make({ horizonDays: 2 })).config.horizonDays).toBe(2);
    });

    it('reads a card with no history as NaN gap and max, zero sums, one terminal', async () => {
      const state = await make();
      expectClose(await run(state, [ev('a', 'c1', 't1', T0, 12.5)]), [
        [Number.NaN, 0, 0, 0, Number.NaN, 0, 1],
      ]);
    });

    it('sees earlier events of the same batch and of earlier batches, excluding itself', async () => {
      const state = await make();
      const first = await run(state, [ev('a', 'c1', 't1', T0, 10), ev('b', 'c1', 't2', T0 + HOUR_MS, 30)]);
      expectClose(first, [
        [Number.NaN, 0, 0, 0, Number.NaN, 0, 1],
        [HOUR_MS, 1, 10, 100, 10, 0, 2],
      ]);
      const second = await run(state, [ev('c', 'c1', 't1', T0 + 3 * HOUR_MS, 5), ev('x', 'c2', 't1', T0, 1)]);
      expectClose(second, [
        [2 * HOUR_MS, 2, 40, 1000, 30, 1, 2],
        [Number.NaN, 0, 0, 0, Number.NaN, 0, 1],
      ]);
    });

    it('does not count a re-delivered event twice', async () => {
      const state = await make();
      await run(state, [ev('a', 'c1', 't1', T0, 10), ev('b', 'c1', 't1', T0 + HOUR_MS, 20)]);
      const again = await run(state, [
        ev('b', 'c1', 't1', T0 + HOUR_MS, 20),
        ev('c', 'c1', 't1', T0 + 2 * HOUR_MS, 1),
      ]);
      expectClose(again, [
        [HOUR_MS, 1, 10, 100, 10, 1, 1],
        [HOUR_MS, 2, 30, 500, 20, 2, 1],
      ]);
    });

    it('forgets entries older than the horizon and keeps no too-old event', async () => {
      const state = await make({ horizonDays: 2 });
      const out = await run(state, [
        ev('a', 'c1', 't1', T0, 10),
        ev('b', 'c1', 't2', T0 + 3 * DAY_MS, 20),
        ev('late', 'c1', 't3', T0 + DAY_MS - 1, 99),
        ev('c', 'c1', 't2', T0 + 3 * DAY_MS + HOUR_MS, 5),
      ]);
      expectClose(out, [
        [Number.NaN, 0, 0, 0, Number.NaN, 0, 1],
        [Number.NaN, 0, 0, 0, Number.NaN, 0, 1],
        [Number.NaN, 0, 0, 0, Number.NaN, 0, 1],
        [HOUR_MS, 1, 20, 400, 20, 1, 1],
      ]);
    });

    it('writes NaN for an unknown card and for the terminal figure of an unknown terminal', async () => {
      const state = await make();
      const out = await run(state, [
        ev('a', '', 't1', T0, 10),
        ev('b', 'c1', 't1', T0, 10),
        ev('c', 'c1', '', T0 + 1, 4),
      ]);
      expectClose(out, [
        Array(CARD_HISTORY_STRIDE).fill(Number.NaN),
        [Number.NaN, 0, 0, 0, Number.NaN, 0, 1],
        [1, 1, 10, 100, 10, Number.NaN, 1],
      ]);
    });

    it('peeks what updateAndRead would answer for each event alone, changing nothing (seeded)', async () => {
      // Two states fed the same history; only `peeked` is peeked at, so anything a peek stored
      // (an entry, a card watermark) shows up as a difference between them.
      const peeked = await make({ horizonDays: 2 });
      const twin = await make({ horizonDays: 2 });
      const random = new Random(4242);
      const stored: WindowEvent[] = [];
      const peek = async (events: WindowEvent[]) => {
        const out = new Float64Array(events.length * CARD_HISTORY_STRIDE);
        await peeked.peek(events, out);
        return rows(out, events.length);
      };
      let t = T0;
      for (let step = 0; step < 40; step++) {
        const batch: WindowEvent[] = [];
        for (let j = 1 + random.int(6); j > 0; j--) {
          // Now and then a jump of a day or more, so idle cards keep entries their next event expires.
          t += (random.next() < 0.1 ? 24 * (1 + random.int(2)) : random.int(8)) * HOUR_MS;
          batch.push(
            ev(
              `k${stored.length + batch.length}`,
              `c${random.int(6)}`,
              `t${random.int(4)}`,
              t,
              1 + random.int(9000) / 100,
            ),
          );
        }
        expectClose(await run(peeked, batch), await run(twin, batch));
        stored.push(...batch);
        const old = stored[random.int(stored.length)]!;
        const probes = [
          ev(`p${step}a`, `c${random.int(7)}`, `t${random.int(5)}`, t + random.int(3) * HOUR_MS, 12.5),
          ev(
            `p${step}b`,
            `c${random.int(6)}`,
            `t${random.int(4)}`,
            t - DAY_MS - random.int(24) * HOUR_MS,
            3.25,
          ),
          ev(`p${step}c`, `c${random.int(6)}`, `t${random.int(4)}`, t + (1 + random.int(3)) * DAY_MS, 7),
          ev(`p${step}d`, `c${random.int(6)}`, `t${random.int(4)}`, t - 5 * DAY_MS, 5),
          { ...old },
          ev(`p${step}e`, '', `t${random.int(4)}`, t, 1),
          ev(`p${step}f`, `c${random.int(6)}`, '', t, 1),
        ];
        random.shuffle(probes);
        const all = await peek(probes);
        for (let i = 0; i < probes.length; i++) expectClose(await peek([probes[i]!]), [all[i]!]);
        // One probe, whichever came first, is then applied for real to both states.
        const chosen = random.int(probes.length);
        const real = await run(twin, [probes[chosen]!]);
        expectClose([all[chosen]!], real);
        expectClose(await run(peeked, [probes[chosen]!]), real);
        stored.push(probes[chosen]!);
      }
    });

    it('agrees with the reference on a random history in random batches, out-of-order events included', async () => {
      const random = new Random(11);
      const events: WindowEvent[] = [];
      let t = T0;
      for (let i = 0; i < 500; i++) {
        t += random.int(6 * HOUR_MS);
        // Now and then an event a little late, or a re-delivery of a recent one.
        const late = random.next() < 0.05 ? random.int(3 * DAY_MS) : 0;
        if (i > 0 && random.next() < 0.04) {
          events.push({ ...events[events.length - 1 - random.int(Math.min(5, events.length))]! });
          continue;
        }
        events.push(
          ev(
            `k${i}`,
            random.next() < 0.03 ? '' : `c${random.int(8)}`,
            random.next() < 0.03 ? '' : `t${random.int(5)}`,
            t - late,
            Math.round(random.uniform(1, 200) * 100) / 100,
          ),
        );
      }
      const state = await make({ horizonDays: 3 });
      const actual: number[][] = [];
      for (let i = 0; i < events.length; ) {
        const n = 1 + random.int(40);
        actual.push(...(await run(state, events.slice(i, i + n))));
        i += n;
      }
      expectClose(actual, referenceCardHistory(events, 3));
    });
  });
}
