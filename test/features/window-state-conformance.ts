/**
 * Conformance suite of the {@link WindowState} contract. Every implementation (memory, Redis)
 * runs it: `describeWindowStateConformance('RedisWindowState', (options) => createRedisState(options))`.
 * The factory must return a fresh, empty state for each call; the suite closes it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Feedback } from '../../src/events/index.js';
import type { WindowEvent, WindowState, WindowStateOptions } from '../../src/features/index.js';
import { DAY_MS, windowAggregateCount } from '../../src/features/index.js';
import { Random } from '../../src/random/index.js';

export type WindowStateFactory = (options?: WindowStateOptions) => WindowState | Promise<WindowState>;

/** 2018-04-01T00:00:00Z, the first day of the Handbook's simulation. */
const T0 = Date.UTC(2018, 3, 1);
const HOUR_MS = 3_600_000;

function ev(key: string, cardId: string, terminalId: string, timestampMs: number, amount = 1): WindowEvent {
  return { key, cardId, terminalId, timestampMs, amount };
}

function fb(e: WindowEvent, label: 0 | 1, atMs: number): Feedback {
  return {
    transactionId: e.key,
    cardId: e.cardId,
    terminalId: e.terminalId,
    transactionTimestampMs: e.timestampMs,
    label,
    atMs,
  };
}

/** Card `[count, sum]` pairs per window of event `i`. */
function cardOf(out: Float64Array, state: WindowState, i: number): number[][] {
  const a = windowAggregateCount(state.config);
  const n = state.config.cardWindowsDays.length;
  return Array.from({ length: n }, (_, w) => [out[i * a + 2 * w]!, out[i * a + 2 * w + 1]!]);
}

/** Terminal `[count, frauds]` pairs per window of event `i`. */
function terminalOf(out: Float64Array, state: WindowState, i: number): number[][] {
  const a = windowAggregateCount(state.config);
  const base = 2 * state.config.cardWindowsDays.length;
  const n = state.config.terminalWindowsDays.length;
  return Array.from({ length: n }, (_, w) => [out[i * a + base + 2 * w]!, out[i * a + base + 2 * w + 1]!]);
}

export function describeWindowStateConformance(name: string, factory: WindowStateFactory): void {
  describe(`WindowState conformance: ${name}`, () => {
    const open: WindowState[] = [];
    const make = async (options?: WindowStateOptions): Promise<WindowState> => {
      const state = await factory(options);
      open.push(state);
      return state;
    };
    /** Runs one batch and returns its output. */
    const run = async (state: WindowState, events: WindowEvent[]): Promise<Float64Array> => {
      const out = new Float64Array(events.length * windowAggregateCount(state.config));
      await state.updateAndRead(events, out);
      return out;
    };

    afterEach(async () => {
      for (const state of open.splice(0)) await state.close?.();
    });

    it('exposes the resolved configuration, defaulting to the Handbook windows and delay', async () => {
      const state = await make();
      expect(state.config.cardWindowsDays).toEqual([1, 7, 30]);
      expect(state.config.terminalWindowsDays).toEqual([1, 7, 30]);
      expect(state.config.delayDays).toBe(7);
      expect(windowAggregateCount(state.config)).toBe(12);
      const custom = await make({ cardWindowsDays: [2], terminalWindowsDays: [3, 5], delayDays: 1 });
      expect(windowAggregateCount(custom.config)).toBe(6);
    });

    it('counts the event in its own card windows and nothing in the delayed terminal windows', async () => {
      const state = await make();
      const out = await run(state, [ev('a', 'c1', 't1', T0, 12.5)]);
      expect(cardOf(out, state, 0)).toEqual([
        [1, 12.5],
        [1, 12.5],
        [1, 12.5],
      ]);
      expect(terminalOf(out, state, 0)).toEqual([
        [0, 0],
        [0, 0],
        [0, 0],
      ]);
    });

    it('uses half-open card windows (t - N, t] across batches and within one batch', async () => {
      const state = await make();
      const first = await run(state, [ev('e1', 'c', 'x1', T0, 10), ev('other', 'd', 'x1', T0 + DAY_MS, 99)]);
      expect(cardOf(first, state, 0)).toEqual([
        [1, 10],
        [1, 10],
        [1, 10],
      ]);
      const out = await run(state, [
        ev('e2', 'c', 'x2', T0 + 6 * DAY_MS, 20),
        ev('e3', 'c', 'x3', T0 + 7 * DAY_MS, 30),
        ev('e4', 'c', 'x4', T0 + 31 * DAY_MS, 5),
      ]);
      const card = (i: number) => cardOf(out, state, i).map(([c, s]) => [c, Number(s!.toFixed(9))]);
      expect(card(0)).toEqual([
        [1, 20],
        [2, 30],
        [2, 30],
      ]);
      // e2 sits exactly at t - 1 day and e1 exactly at t - 7 days: both outside.
      expect(card(1)).toEqual([
        [1, 30],
        [2, 50],
        [3, 60],
      ]);
      expect(card(2)).toEqual([
        [1, 5],
        [1, 5],
        [3, 55],
      ]);
    });

    it('shifts terminal windows back by the delay and counts only labels known at read time', async () => {
      const state = await make();
      const k1 = ev('k1', 'a', 'X', T0);
      const k2 = ev('k2', 'b', 'X', T0 + DAY_MS);
      await run(state, [k1, k2]);
      await state.applyFeedback([fb(k1, 1, T0 + 7 * DAY_MS), fb(k2, 1, T0 + 9 * DAY_MS)]);
      const out = await run(state, [
        ev('k3', 'c', 'X', T0 + 8 * DAY_MS),
        ev('k4', 'd', 'X', T0 + 8 * DAY_MS + 12 * HOUR_MS),
        ev('k5', 'e', 'X', T0 + 9 * DAY_MS),
      ]);
      // k3: windows end at T0+1d; 1d = (T0, T0+1d] holds k2 (label not known until T0+9d).
      expect(terminalOf(out, state, 0)).toEqual([
        [1, 0],
        [2, 1],
        [2, 1],
      ]);
      expect(terminalOf(out, state, 1)).toEqual([
        [1, 0],
        [2, 1],
        [2, 1],
      ]);
      // k5: 1d = (T0+1d, T0+2d] excludes k2 at its lower bound; k2's label is known at T0+9d.
      expect(terminalOf(out, state, 2)).toEqual([
        [0, 0],
        [2, 2],
        [2, 2],
      ]);
    });

    it('does not double count a re-delivered event, in the same batch or a later one', async () => {
      const state = await make();
      const e = ev('dup', 'c', 'T', T0, 7);
      const out = await run(state, [e, { ...e }]);
      expect(cardOf(out, state, 1)).toEqual(cardOf(out, state, 0));
      const again = await run(state, [{ ...e }, ev('next', 'c', 'T', T0 + 8 * DAY_MS, 3)]);
      expect(cardOf(again, state, 0)).toEqual([
        [1, 7],
        [1, 7],
        [1, 7],
      ]);
      expect(cardOf(again, state, 1)[2]).toEqual([2, 10]);
      expect(terminalOf(again, state, 1)[1]).toEqual([1, 0]);
      // Same key at another time is another event.
      const other = await run(state, [ev('dup', 'c', 'T', T0 + 8 * DAY_MS + 1, 1)]);
      expect(cardOf(other, state, 0)[2]).toEqual([3, 11]);
    });

    it('applies feedback idempotently, lets a correction replace a label, and ignores unknown ones', async () => {
      const state = await make();
      const e = ev('f', 'c', 'T', T0);
      await run(state, [e]);
      const known = T0 + DAY_MS;
      await state.applyFeedback([fb(e, 1, known), fb(e, 1, known)]);
      await state.applyFeedback([fb(e, 1, known)]);
      await state.applyFeedback([
        { ...fb(e, 1, known), transactionId: 'nobody' },
        { ...fb(e, 1, known), terminalId: 'elsewhere' },
        { ...fb(e, 1, known), transactionTimestampMs: T0 + 1 },
      ]);
      const read = await run(state, [ev('r1', 'd', 'T', T0 + 7 * DAY_MS + HOUR_MS)]);
      expect(terminalOf(read, state, 0)).toEqual([
        [1, 1],
        [1, 1],
        [1, 1],
      ]);
      await state.applyFeedback([fb(e, 0, T0 + 2 * DAY_MS)]);
      const corrected = await run(state, [ev('r2', 'd', 'T', T0 + 7 * DAY_MS + 2 * HOUR_MS)]);
      expect(terminalOf(corrected, state, 0)).toEqual([
        [1, 0],
        [1, 0],
        [1, 0],
      ]);
    });

    it('ignores feedback that arrives before its event', async () => {
      const state = await make();
      const e = ev('early', 'c', 'T', T0);
      await state.applyFeedback([fb(e, 1, T0)]);
      await run(state, [e]);
      const out = await run(state, [ev('r', 'd', 'T', T0 + 7 * DAY_MS)]);
      expect(terminalOf(out, state, 0)[0]).toEqual([1, 0]);
    });

    it('writes NaN for an empty card or terminal id and stores nothing for it', async () => {
      const state = await make();
      const out = await run(state, [
        ev('a', '', 'T', T0, 5),
        ev('b', 'c', '', T0, 6),
        ev('c', '', 'T', T0, 1),
      ]);
      expect(cardOf(out, state, 0).flat().every(Number.isNaN)).toBe(true);
      expect(terminalOf(out, state, 0)).toEqual([
        [0, 0],
        [0, 0],
        [0, 0],
      ]);
      expect(cardOf(out, state, 1)[0]).toEqual([1, 6]);
      expect(terminalOf(out, state, 1).flat().every(Number.isNaN)).toBe(true);
      expect(cardOf(out, state, 2).flat().every(Number.isNaN)).toBe(true);
    });

    it('inserts a late event at its time and counts a too-old one in its own window only', async () => {
      const state = await make();
      const out = await run(state, [
        ev('b', 'c', 'T', T0 + 2 * DAY_MS, 2),
        ev('a', 'c', 'T', T0 + DAY_MS, 1),
        ev('n', 'c', 'T', T0 + 2 * DAY_MS + 1, 4),
      ]);
      expect(cardOf(out, state, 1)).toEqual([
        [1, 1],
        [1, 1],
        [1, 1],
      ]);
      expect(cardOf(out, state, 2)).toEqual([
        [2, 6],
        [3, 7],
        [3, 7],
      ]);
      // Watermark T0+40d: card entries at or before T0+10d and terminal ones at or before T0+3d expire.
      await run(state, [ev('w', 'z', 'Z', T0 + 40 * DAY_MS)]);
      const late = await run(state, [
        ev('old', 'c', 'T', T0 + 9 * DAY_MS, 8),
        ev('old2', 'c', 'T', T0 + 11 * DAY_MS, 16),
        ev('old2', 'c', 'T', T0 + 11 * DAY_MS, 16),
      ]);
      expect(cardOf(late, state, 0)).toEqual([
        [1, 8],
        [1, 8],
        [1, 8],
      ]);
      expect(cardOf(late, state, 2)).toEqual([
        [1, 16],
        [1, 16],
        [1, 16],
      ]);
      // An entry that expires between sweeps of a lazy implementation must not be counted either:
      // with W = T0+40d+23h, 'p' at T0+10d+12h is expired while 'old2' at T0+11d is not.
      await run(state, [
        ev('p', 'c', 'T', T0 + 10 * DAY_MS + 12 * HOUR_MS, 32),
        ev('pt', 'y', 'T', T0 + 3 * DAY_MS + 12 * HOUR_MS),
      ]);
      await run(state, [ev('w2', 'z', 'Z', T0 + 40 * DAY_MS + 23 * HOUR_MS)]);
      const lazy = await run(state, [ev('late', 'c', 'T', T0 + 11 * DAY_MS + HOUR_MS, 2)]);
      expect(cardOf(lazy, state, 0)[2]).toEqual([2, 18]);
      // A late read whose 30-day window (T0+1d, T0+31d] would cover the terminal entries at T0+2d:
      // they and 'pt' are expired (<= W - 37d) and not counted; 'old', 'p', 'old2' and 'late' are.
      const t = await run(state, [ev('t', 'q', 'T', T0 + 38 * DAY_MS)]);
      expect(terminalOf(t, state, 0)[2]).toEqual([4, 0]);
    });

    it('peeks what updateAndRead would answer for each event alone, changing nothing (seeded)', async () => {
      for (const delayDays of [0, 2]) {
        const options = { cardWindowsDays: [1, 3], terminalWindowsDays: [1, 2], delayDays };
        // Two states fed the same history; only `peeked` is peeked at, so any write a peek made
        // (an entry, a label, the watermark) shows up as a difference between them.
        const peeked = await make(options);
        const twin = await make(options);
        expect(typeof peeked.peek).toBe('function');
        const a = windowAggregateCount(peeked.config);
        const random = new Random(7100 + delayDays);
        const rounded = (x: Float64Array) =>
          Array.from(x, (v) => (Number.isNaN(v) ? 'NaN' : Math.round(v * 1e6)));
        const stored: WindowEvent[] = [];
        let t = T0;
        for (let step = 0; step < 40; step++) {
          const batch: WindowEvent[] = [];
          for (let j = 1 + random.int(6); j > 0; j--) {
            // Now and then a jump of days with few keys active, so idle keys keep expired entries.
            t += (random.next() < 0.1 ? 24 * (2 + random.int(3)) : random.int(10)) * HOUR_MS;
            batch.push(
              ev(
                `k${stored.length + batch.length}`,
                `c${random.int(7)}`,
                `t${random.int(5)}`,
                t,
                1 + random.int(9000) / 100,
              ),
            );
          }
          const o1 = await run(peeked, batch);
          const o2 = await run(twin, batch);
          expect(rounded(o1)).toEqual(rounded(o2));
          stored.push(...batch);
          const labels = stored
            .filter(() => random.next() < 0.2)
            .map((e) => fb(e, random.next() < 0.5 ? 1 : 0, e.timestampMs + random.int(5 * 24) * HOUR_MS));
          await peeked.applyFeedback(labels);
          await twin.applyFeedback(labels);
          // Probes: new events now, late, far in the future (a peek must not raise the watermark),
          // too old to keep, re-deliveries of stored events, and empty ids.
          const old = stored[random.int(stored.length)]!;
          const probes = [
            ev(`p${step}a`, `c${random.int(5)}`, `t${random.int(4)}`, t + random.int(3) * HOUR_MS, 12.5),
            ev(`p${step}b`, old.cardId, old.terminalId, old.timestampMs - random.int(48) * HOUR_MS, 3.25),
            ev(`p${step}c`, `c${random.int(4)}`, `t${random.int(3)}`, t + (40 + random.int(10)) * DAY_MS, 7),
            ev(`p${step}d`, `c${random.int(4)}`, `t${random.int(3)}`, t - 60 * DAY_MS, 5),
            { ...old },
            ev(
              `p${step}g`,
              `c${random.int(7)}`,
              `t${random.int(5)}`,
              t - 2 * DAY_MS - random.int(24) * HOUR_MS,
              4,
            ),
            ev(`p${step}e`, '', `t${random.int(3)}`, t, 1),
            ev(`p${step}f`, `c${random.int(4)}`, '', t, 1),
          ];
          random.shuffle(probes);
          const peekOut = new Float64Array(probes.length * a);
          await peeked.peek!(probes, peekOut);
          // Each probe is read on its own: peeking it alone gives the same row.
          for (let i = 0; i < probes.length; i++) {
            const alone = new Float64Array(a);
            await peeked.peek!([probes[i]!], alone);
            expect(rounded(alone)).toEqual(rounded(peekOut.subarray(i * a, (i + 1) * a)));
          }
          // One probe (not the far-future one, which would expire the history) is then applied
          // for real to both states: the twin's answer is what the peek promised.
          const chosen = probes.findIndex((p) => p.timestampMs < t + 10 * DAY_MS);
          const real = await run(twin, [probes[chosen]!]);
          expect(rounded(peekOut.subarray(chosen * a, (chosen + 1) * a))).toEqual(rounded(real));
          expect(rounded(await run(peeked, [probes[chosen]!]))).toEqual(rounded(real));
          stored.push(probes[chosen]!);
        }
      }
    });

    it('matches a brute-force reading of the semantics on a random history with random batches', async () => {
      const options = { cardWindowsDays: [1, 3], terminalWindowsDays: [1, 2, 5], delayDays: 2 };
      const state = await make(options);
      const random = new Random(20240611);
      const n = 400;
      const times: number[] = [];
      for (let i = 0; i < n; i++) times.push(T0 + random.int(40 * 4) * 6 * HOUR_MS);
      times.sort((a, b) => a - b);
      const events = times.map((t, i) =>
        ev(
          `k${i}`,
          `c${random.int(6)}`,
          `t${random.int(4)}`,
          t,
          Math.round(random.uniform(1, 100) * 100) / 100,
        ),
      );
      const labels = events.map(() => (random.next() < 0.3 ? 1 : 0));
      const delayMs = options.delayDays * DAY_MS;
      const batchOf = new Int32Array(n);
      const applied = new Int32Array(n).fill(-1);
      const out = new Float64Array(n * windowAggregateCount(state.config));
      const a = windowAggregateCount(state.config);
      let next = 0;
      let pending = 0;
      for (let b = 0; next < n; b++) {
        const size = 1 + random.int(12);
        const batch = events.slice(next, next + size);
        const lastT = batch[batch.length - 1]!.timestampMs;
        const due: Feedback[] = [];
        while (pending < next && events[pending]!.timestampMs + delayMs <= lastT) {
          due.push(fb(events[pending]!, labels[pending] as 0 | 1, events[pending]!.timestampMs + delayMs));
          applied[pending] = b;
          pending++;
        }
        await state.applyFeedback(due);
        const o = await run(state, batch);
        out.set(o, next * a);
        for (let i = next; i < next + batch.length; i++) batchOf[i] = b;
        next += batch.length;
      }
      for (let i = 0; i < n; i++) {
        const t = events[i]!.timestampMs;
        const card = cardOf(out, state, i);
        options.cardWindowsDays.forEach((d, w) => {
          let count = 0;
          let sum = 0;
          for (let j = 0; j <= i; j++) {
            const e = events[j]!;
            if (e.cardId === events[i]!.cardId && e.timestampMs > t - d * DAY_MS && e.timestampMs <= t) {
              count++;
              sum += e.amount;
            }
          }
          expect(card[w]![0]).toBe(count);
          expect(card[w]![1]).toBeCloseTo(sum, 6);
        });
        const terminal = terminalOf(out, state, i);
        options.terminalWindowsDays.forEach((d, w) => {
          let count = 0;
          let frauds = 0;
          const end = t - delayMs;
          for (let j = 0; j <= i; j++) {
            const e = events[j]!;
            if (
              e.terminalId !== events[i]!.terminalId ||
              e.timestampMs <= end - d * DAY_MS ||
              e.timestampMs > end
            ) {
              continue;
            }
            count++;
            const known = applied[j]! >= 0 && applied[j]! <= batchOf[i]! && e.timestampMs + delayMs <= t;
            if (labels[j] === 1 && known) frauds++;
          }
          expect(terminal[w]).toEqual([count, frauds]);
        });
      }
    });
  });
}
