import { createClient, RESP_TYPES } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WindowEvent } from '../../src/features/index.js';
import { DAY_MS, MemoryWindowState, windowAggregateCount } from '../../src/features/index.js';
import { keyFingerprint, RedisWindowState, tagOf } from '../../src/features/redis/index.js';
import { Random } from '../../src/random/index.js';
import {
  type RedisServerHandle,
  randomKeyPrefix,
  skipWithoutRedis,
  startRedisServer,
} from '../helpers/redis-server.js';
import { describeWindowStateConformance } from './window-state-conformance.js';

const T0 = Date.UTC(2018, 3, 1);

/** A card's or terminal's stored entries: header and `[time, second field, fingerprint]` per entry. */
async function readEntries(
  admin: ReturnType<typeof createClient>,
  key: string,
): Promise<{ header: number; entries: number[][] } | null> {
  const raw = await admin.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }).get(key);
  if (raw === null) return null;
  const entries: number[][] = [];
  for (let o = 8; o < raw.length; o += 24) {
    entries.push([raw.readDoubleLE(o), raw.readDoubleLE(o + 8), raw.readDoubleLE(o + 16)]);
  }
  return { header: raw.readDoubleLE(0), entries };
}

/** A random history over `days` days, time-ordered. */
function history(seed: number, n: number, days: number): WindowEvent[] {
  const random = new Random(seed);
  const times = Array.from({ length: n }, () => T0 + random.int(days * DAY_MS)).sort((a, b) => a - b);
  return times.map((t, i) => ({
    key: `k${i}`,
    cardId: `c${random.int(20)}`,
    terminalId: `t${random.int(6)}`,
    timestampMs: t,
    amount: Math.round(random.uniform(1, 200) * 100) / 100,
  }));
}

describe('tagOf', () => {
  it('keeps plain ids and encodes braces so a key has exactly one hash tag', () => {
    expect(tagOf('card-42')).toBe('card-42');
    expect(tagOf('a{b}')).toBe('a%7bb%7d');
    expect(tagOf('}x')).toBe('%7dx');
    expect(tagOf('%7b')).not.toBe(tagOf('{'));
  });
});

describe.skipIf(skipWithoutRedis())('RedisWindowState on a single server', () => {
  let server: RedisServerHandle;
  let admin: ReturnType<typeof createClient>;
  beforeAll(async () => {
    server = await startRedisServer();
    admin = createClient({ url: server.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.close();
    await server?.stop();
  });

  describeWindowStateConformance('RedisWindowState (single server)', (options) =>
    RedisWindowState.connect({ ...options, url: server.url, prefix: randomKeyPrefix() }),
  );

  it('gives two concurrent consumers (cards split between them) the same state as one', async () => {
    const events = history(7, 600, 10);
    const probe = Array.from({ length: 26 }, (_, i) => ({
      key: `probe${i}`,
      cardId: i < 20 ? `c${i}` : '',
      terminalId: i < 6 ? `t${i}` : i >= 20 ? `t${i - 20}` : '',
      timestampMs: T0 + 12 * DAY_MS,
      amount: 0,
    }));
    const single = await RedisWindowState.connect({ url: server.url, prefix: randomKeyPrefix() });
    const a = windowAggregateCount(single.config);
    for (let i = 0; i < events.length; i += 50) {
      const batch = events.slice(i, i + 50);
      await single.updateAndRead(batch, new Float64Array(batch.length * a));
    }
    const expected = new Float64Array(probe.length * a);
    await single.updateAndRead(probe, expected);

    const prefix = randomKeyPrefix();
    const consumers = [
      await RedisWindowState.connect({ url: server.url, prefix }),
      await RedisWindowState.connect({ url: server.url, prefix }),
    ];
    const parts = [0, 1].map((c) => events.filter((e) => Number(e.cardId.slice(1)) % 2 === c));
    const run = async (c: number): Promise<void> => {
      const mine = parts[c]!;
      for (let i = 0; i < mine.length; i += 25) {
        const batch = mine.slice(i, i + 25);
        await consumers[c]!.updateAndRead(batch, new Float64Array(batch.length * a));
      }
    };
    await Promise.all([run(0), run(1)]);
    const got = new Float64Array(probe.length * a);
    await consumers[0]!.updateAndRead(probe, got);
    expect(Array.from(got)).toEqual(Array.from(expected));
    // And both agree with the memory reference.
    const memory = new MemoryWindowState();
    memory.updateAndReadSync(events, new Float64Array(events.length * a));
    const reference = new Float64Array(probe.length * a);
    memory.updateAndReadSync(probe, reference);
    for (let i = 0; i < got.length; i++) {
      if (Number.isNaN(reference[i])) expect(got[i]).toBeNaN();
      else expect(got[i]).toBeCloseTo(reference[i]!, 6);
    }
    for (const s of [single, ...consumers]) await s.close();
  });

  it('peek uses the shared watermark another consumer raised, as the script does', async () => {
    // Consumer B only serves dry runs; consumer A moved W far ahead, so B's late event must see
    // its card's old entries as expired, exactly as B's update would.
    const prefix = randomKeyPrefix();
    const options = {
      url: server.url,
      prefix,
      cardWindowsDays: [1, 3],
      terminalWindowsDays: [1, 2],
      delayDays: 1,
    };
    const consumerA = await RedisWindowState.connect(options);
    const consumerB = await RedisWindowState.connect(options);
    const a = windowAggregateCount(consumerA.config);
    const event = (key: string, cardId: string, terminalId: string, days: number): WindowEvent => ({
      key,
      cardId,
      terminalId,
      timestampMs: T0 + days * DAY_MS,
      amount: 2,
    });
    // Two batches: the second (another card and terminal) raises W but leaves card c's stored
    // string as it was, holding the entry at day 0 that is expired by then.
    await consumerA.updateAndRead(
      [event('a', 'c', 't', 0), event('b', 'c', 't', 1)],
      new Float64Array(2 * a),
    );
    await consumerA.updateAndRead([event('z', 'other', 'u', 3.5)], new Float64Array(a));
    const late = event('late', 'c', 't', 2);
    const peeked = new Float64Array(a);
    await consumerB.peek([late], peeked);
    const real = new Float64Array(a);
    await consumerB.updateAndRead([late], real);
    expect(Array.from(peeked)).toEqual(Array.from(real));
    // The card's entry at day 0 is past W - 3 days and not counted (day 1 and itself are).
    expect(real[2]).toBe(2);
    for (const s of [consumerA, consumerB]) await s.close();
  });

  it('trims entries beyond the horizon and expires idle keys after it', async () => {
    const prefix = randomKeyPrefix();
    const state = await RedisWindowState.connect({ url: server.url, prefix, cardWindowsDays: [1, 2] });
    const a = windowAggregateCount(state.config);
    const run = (events: WindowEvent[]) => state.updateAndRead(events, new Float64Array(events.length * a));
    await run([
      { key: 'a', cardId: 'c', terminalId: 'T', timestampMs: T0, amount: 1 },
      { key: 'b', cardId: 'c', terminalId: 'T', timestampMs: T0 + DAY_MS, amount: 1 },
    ]);
    expect((await readEntries(admin, `${prefix}cw:{c}`))?.entries).toHaveLength(2);
    await run([{ key: 'z', cardId: 'c', terminalId: 'T', timestampMs: T0 + 3 * DAY_MS, amount: 1 }]);
    // W = T0+3d, card horizon 2 days: 'a' (T0) and 'b' (T0+1d, exactly at W - 2d) are expired and
    // cut; the header keeps their amount sum, so the remaining running sum (3) still differences right.
    expect(await readEntries(admin, `${prefix}cw:{c}`)).toEqual({
      header: 2,
      entries: [[T0 + 3 * DAY_MS, 3, keyFingerprint('z')]],
    });
    const cardTtl = await admin.pTTL(`${prefix}cw:{c}`);
    expect(cardTtl).toBeGreaterThan(DAY_MS);
    expect(cardTtl).toBeLessThanOrEqual(2 * DAY_MS);
    const termTtl = await admin.pTTL(`${prefix}tw:{T}`);
    expect(termTtl).toBeGreaterThan(2 * DAY_MS);
    expect(termTtl).toBeLessThanOrEqual(37 * DAY_MS);
    await state.close();
  });

  it('counts thousands of fraud labels of one terminal and keeps its TTL when labels change', async () => {
    const prefix = randomKeyPrefix();
    const state = await RedisWindowState.connect({ url: server.url, prefix });
    const memory = new MemoryWindowState();
    const a = windowAggregateCount(state.config);
    const events: WindowEvent[] = Array.from({ length: 2_500 }, (_, i) => ({
      key: `f${i}`,
      cardId: `c${i % 50}`,
      terminalId: 'hot',
      timestampMs: T0 + i * 60_000,
      amount: 1,
    }));
    const feedback = events.map((e) => ({
      transactionId: e.key,
      cardId: e.cardId,
      terminalId: e.terminalId,
      transactionTimestampMs: e.timestampMs,
      label: 1 as const,
      atMs: T0 + 3 * DAY_MS,
    }));
    const probe: WindowEvent[] = [
      { key: 'p', cardId: 'x', terminalId: 'hot', timestampMs: T0 + 9 * DAY_MS, amount: 1 },
    ];
    const got = new Float64Array(a);
    const expected = new Float64Array(a);
    await state.updateAndRead(events, new Float64Array(events.length * a));
    await state.applyFeedback(feedback);
    await state.updateAndRead(probe, got);
    memory.updateAndReadSync(events, new Float64Array(events.length * a));
    memory.applyFeedbackSync(feedback);
    memory.updateAndReadSync(probe, expected);
    expect(Array.from(got)).toEqual(Array.from(expected));
    expect(got[2 * 3 + 3]).toBe(2_500);
    expect((await readEntries(admin, `${prefix}tw:{hot}`))?.header).toBe(2_500);
    expect(await admin.pTTL(`${prefix}tw:{hot}`)).toBeGreaterThan(0);
    await state.close();
  });

  it('matches the memory state over two months of batches with feedback, and keeps every key near its horizon', async () => {
    // Long enough that card and terminal entries expire (lazy trimming, label trimming) and that
    // some terminals are busy and others empty in their delayed windows.
    const prefix = randomKeyPrefix();
    const options = { cardWindowsDays: [1, 7], terminalWindowsDays: [1, 3], delayDays: 2 };
    const state = await RedisWindowState.connect({ url: server.url, prefix, ...options });
    const memory = new MemoryWindowState(options);
    const a = windowAggregateCount(state.config);
    const random = new Random(11);
    const events = history(12, 3_000, 60);
    for (const e of events) e.terminalId = random.next() < 0.8 ? 'busy' : `t${random.int(6)}`;
    for (let i = 0; i < events.length; ) {
      const batch = events.slice(i, i + 1 + random.int(120));
      i += batch.length;
      const got = new Float64Array(batch.length * a);
      const expected = new Float64Array(batch.length * a);
      await state.updateAndRead(batch, got);
      memory.updateAndReadSync(batch, expected);
      // Counts exactly; amount sums up to the order of additions (the memory state sums differently).
      for (let j = 0; j < got.length; j++) expect(got[j]).toBeCloseTo(expected[j]!, 6);
      const feedback = batch
        .filter(() => random.next() < 0.3)
        .map((e) => ({
          transactionId: e.key,
          cardId: e.cardId,
          terminalId: e.terminalId,
          transactionTimestampMs: e.timestampMs,
          label: (random.next() < 0.5 ? 1 : 0) as 0 | 1,
          atMs: e.timestampMs + random.int(3 * DAY_MS),
        }));
      await state.applyFeedback(feedback);
      memory.applyFeedbackSync(feedback);
    }
    const last = events[events.length - 1]!.timestampMs;
    for (let c = 0; c < 20; c++) {
      const stored = await readEntries(admin, `${prefix}cw:{c${c}}`);
      // Expired entries may linger for an eighth of the horizon (7 days) before a lazy cut.
      for (const [t] of stored?.entries ?? [])
        expect(t).toBeGreaterThan(last - 7 * DAY_MS * (9 / 8) - 2 * DAY_MS);
    }
    const busy = (await readEntries(admin, `${prefix}tw:{busy}`))!;
    for (const [t] of busy.entries) expect(t).toBeGreaterThan(last - 5 * DAY_MS);
    // The header counts exactly the entries that carry a fraud label.
    expect(busy.header).toBe(busy.entries.filter(([, known]) => known !== 1e300).length);
    expect(busy.header).toBeGreaterThan(0);
    await state.close();
  });

  it('updates and reads a batch with one script call', async () => {
    const state = await RedisWindowState.connect({ url: server.url, prefix: randomKeyPrefix() });
    const events = history(3, 200, 5);
    const a = windowAggregateCount(state.config);
    await state.updateAndRead(events.slice(0, 1), new Float64Array(a));
    const count = async () => {
      const info = await admin.info('commandstats');
      return ['evalsha', 'eval'].reduce(
        (s, c) => s + Number(new RegExp(`cmdstat_${c}:calls=(\\d+)`).exec(info)?.[1] ?? 0),
        0,
      );
    };
    const before = await count();
    await state.updateAndRead(events.slice(1), new Float64Array((events.length - 1) * a));
    expect((await count()) - before).toBe(1);
    await state.close();
  });
});
