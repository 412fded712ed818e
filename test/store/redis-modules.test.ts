/**
 * The Redis store's module layout against a real redis-server with RedisTimeSeries 1.10 and
 * ReJSON 1.0.8 loaded from `../shared/redis-modules` (see its README): the store conformance
 * suite, the documents as RedisJSON, the Grafana dashboard's own queries, and `demo --redis`
 * end to end. In CI a missing module fails the suite; locally it skips and says why.
 */
import { readFile } from 'node:fs/promises';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore, type ScoredTransaction } from '../../src/store/index.js';
import { connectRaw, runCli, SMALL, scanKeys } from '../helpers/cli.js';
import {
  type RedisServerHandle,
  randomKeyPrefix,
  skipWithoutRedisModules,
  startRedisServer,
} from '../helpers/redis-server.js';
import { describeStoreConformance, scored } from './store-conformance.js';

interface GrafanaTarget {
  refId: string;
  command: 'ts.get' | 'ts.range' | 'ts.info';
  keyName: string;
  aggregation?: string;
  bucket?: number;
}
interface GrafanaPanel {
  title: string;
  targets: GrafanaTarget[];
}

/** RESP2 `[[t, "v"], ...]` of TS.RANGE as numbers. */
const points = (reply: unknown): [number, number][] =>
  (reply as [number, string][]).map(([t, v]) => [Number(t), Number(v)]);

/** What a panel must show: `values` grouped in epoch-aligned buckets and aggregated. */
function expectedBuckets(
  samples: readonly { t: number; v: number }[],
  bucketMs: number,
  aggregation: string,
): [number, number][] {
  const byBucket = new Map<number, number[]>();
  for (const s of samples) {
    const b = Math.floor(s.t / bucketMs) * bucketMs;
    byBucket.set(b, [...(byBucket.get(b) ?? []), s.v]);
  }
  const agg = (vs: number[]): number => {
    switch (aggregation) {
      case 'avg':
        return vs.reduce((a, b) => a + b, 0) / vs.length;
      case 'count':
        return vs.length;
      case 'max':
        return Math.max(...vs);
      case 'min':
        return Math.min(...vs);
      case 'sum':
        return vs.reduce((a, b) => a + b, 0);
      default:
        throw new Error(`aggregation ${aggregation} not modelled`);
    }
  };
  return [...byBucket].sort((a, b) => a[0] - b[0]).map(([t, vs]) => [t, agg(vs)]);
}

describe.skipIf(skipWithoutRedisModules())('RedisStore on a server with RedisTimeSeries and ReJSON', () => {
  let server: RedisServerHandle;
  let admin: ReturnType<typeof createClient>;
  beforeAll(async () => {
    server = await startRedisServer({ modules: true });
    admin = createClient({ url: server.url });
    admin.on('error', () => {});
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.close();
    await server?.stop();
  });

  describeStoreConformance('RedisStore (RedisTimeSeries 1.10 + ReJSON 1.0.8)', async () => {
    const store = await RedisStore.connect({
      url: server.url,
      prefix: randomKeyPrefix(),
      seriesKeyPrefix: randomKeyPrefix('ts'),
      layout: 'modules',
    });
    expect(store.layout).toBe('modules');
    return store;
  });

  it('stores each transaction as a RedisJSON document that reads back equal, non-ASCII and 17-digit doubles included', async () => {
    const prefix = randomKeyPrefix();
    const store = await RedisStore.connect({
      url: server.url,
      prefix,
      seriesKeyPrefix: randomKeyPrefix('ts'),
    });
    expect(store.layout).toBe('modules');
    const t0 = Date.now();
    const record: ScoredTransaction = {
      ...scored(1, t0, 'review', 0.1),
      transaction: {
        ...scored(1, t0, 'review', 0.1).transaction,
        terminalId: 'Café Zürich 東京',
        amount: 0.3,
      },
    };
    expect(await store.persistBatch([record])).toEqual({ written: 1, duplicates: 0 });
    expect(await store.persistBatch([record])).toEqual({ written: 0, duplicates: 1 });
    const [key] = await scanKeys(admin, `${prefix}tx:*`);
    expect(await admin.sendCommand(['TYPE', key!])).toBe('ReJSON-RL');
    // ReJSON 1.0.8 prints 17 significant digits and, without NOESCAPE, escapes UTF-8 bytewise.
    const raw = (await admin.sendCommand(['JSON.GET', key!])) as string;
    expect(raw).toContain('0.10000000000000001');
    expect(JSON.parse(raw).transaction.terminalId).not.toBe('Café Zürich 東京');
    expect(await store.getTransaction(record.key)).toEqual(record);
    await store.close();
  });

  it('keeps a series point for every transaction when batches pile up on one millisecond (more than 1,000 points a second)', async () => {
    const seriesKeyPrefix = randomKeyPrefix('ts');
    const store = await RedisStore.connect({ url: server.url, prefix: randomKeyPrefix(), seriesKeyPrefix });
    const t0 = Date.now();
    // Six batches of 500 decided in the same millisecond: a series holds one point per
    // millisecond, so the later batches must land 500, 1,000, … ms ahead, never be dropped.
    for (let b = 0; b < 6; b++) {
      const batch = Array.from({ length: 500 }, (_, j) => scored(b * 500 + j, t0, 'approve', 0.2));
      expect(await store.persistBatch(batch)).toEqual({ written: 500, duplicates: 0 });
    }
    const range = (await admin.sendCommand([
      'TS.RANGE',
      `${seriesKeyPrefix}fraud-ts`,
      '-',
      '+',
    ])) as unknown[];
    expect(range).toHaveLength(3_000);
    const times = points(range).map(([t]) => t);
    expect(new Set(times).size).toBe(3_000);
    expect(Math.min(...times)).toBe(t0);
    await store.close();
  });

  it("answers the Grafana dashboard's queries on the lab's keys with the panels' data", async () => {
    // The dashboard reads the unprefixed lab keys, and TS.MRANGE sees every series: own server.
    const grafanaServer = await startRedisServer({ modules: true });
    const admin = await connectRaw(grafanaServer.url);
    const store = await RedisStore.connect({ url: grafanaServer.url, prefix: randomKeyPrefix() });
    try {
      const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 50_000;
      const batch = Array.from({ length: 120 }, (_, i) => {
        const score = ((i * 37) % 100) / 100;
        const decision = score >= 0.9 ? 'decline' : score >= 0.7 ? 'review' : 'approve';
        // Two records share each millisecond now and then: the store keeps both (1 ms nudge).
        return scored(i, t0 + Math.floor(i * 400.5), decision, score);
      });
      expect((await store.persistBatch(batch)).written).toBe(120);
      // The stored points (after the nudge) are what every panel must be computed from.
      const stored = {
        'fraud-ts': points(await admin.sendCommand(['TS.RANGE', 'fraud-ts', '-', '+'])),
        fraudulent_ts: points(await admin.sendCommand(['TS.RANGE', 'fraudulent_ts', '-', '+'])),
        'non-fraudulent_ts': points(await admin.sendCommand(['TS.RANGE', 'non-fraudulent_ts', '-', '+'])),
      } as Record<string, [number, number][]>;
      expect(stored['fraud-ts']).toHaveLength(120);
      expect(stored.fraudulent_ts!.length + stored['non-fraudulent_ts']!.length).toBe(120);
      expect(stored.fraudulent_ts!.map(([, v]) => v)).toEqual(
        batch.filter((b) => b.decision !== 'approve').map((b) => b.fraudScore),
      );
      expect(new Set(stored['fraud-ts']!.map(([t]) => t)).size).toBe(120);

      const dashboard = JSON.parse(
        await readFile(new URL('../../grafana/dashboards/fraudstream.json', import.meta.url), 'utf8'),
      ) as { panels: GrafanaPanel[] };
      const from = String(t0 - 60_000);
      const to = String(t0 + 120_000);
      let executed = 0;
      for (const panel of dashboard.panels) {
        for (const target of panel.targets) {
          const what = `${panel.title} ${target.refId}`;
          const samples = stored[target.keyName]!.map(([t, v]) => ({ t, v }));
          expect(samples.length, what).toBeGreaterThan(0);
          if (target.command === 'ts.get') {
            const [t, v] = (await admin.sendCommand(['TS.GET', target.keyName])) as [number, string];
            expect([Number(t), Number(v)], what).toEqual(stored[target.keyName]!.at(-1));
          } else if (target.command === 'ts.info') {
            const info = (await admin.sendCommand(['TS.INFO', target.keyName])) as unknown[];
            const field = (name: string): unknown => info[info.indexOf(name) + 1];
            expect(Number(field('totalSamples')), what).toBe(samples.length);
            expect(field('labels'), what).toEqual([['type', 'fraud_score']]);
          } else {
            // What the Redis Data Source plugin sends for a ts.range target with an aggregation.
            const reply = await admin.sendCommand([
              'TS.RANGE',
              target.keyName,
              from,
              to,
              'AGGREGATION',
              target.aggregation!,
              String(target.bucket!),
            ]);
            const got = points(reply);
            const want = expectedBuckets(samples, target.bucket!, target.aggregation!);
            expect(
              got.map(([t]) => t),
              what,
            ).toEqual(want.map(([t]) => t));
            for (let i = 0; i < want.length; i++) expect(got[i]![1], what).toBeCloseTo(want[i]![1], 9);
            // The same panel over every lab series at once: TS.MRANGE by the lab's label, raw
            // series only (the compaction targets carry an `aggregation` label).
            const multi = (await admin.sendCommand([
              'TS.MRANGE',
              from,
              to,
              'AGGREGATION',
              target.aggregation!,
              String(target.bucket!),
              'FILTER',
              'type=fraud_score',
              'aggregation=',
            ])) as [string, unknown, [number, string][]][];
            expect(multi.map(([key]) => key).sort(), what).toEqual([
              'fraud-ts',
              'fraudulent_ts',
              'non-fraudulent_ts',
            ]);
            expect(points(multi.find(([key]) => key === target.keyName)![2]), what).toEqual(got);
          }
          executed++;
        }
      }
      expect(executed).toBe(dashboard.panels.reduce((n, p) => n + p.targets.length, 0));
      // The compaction rules hold the 10 s panels precomputed: every closed bucket matches.
      const compacted = points(await admin.sendCommand(['TS.RANGE', 'fraudulent_ts:count:10s', '-', '+']));
      const live = expectedBuckets(
        stored.fraudulent_ts!.map(([t, v]) => ({ t, v })),
        10_000,
        'count',
      );
      expect(compacted.length).toBeGreaterThan(0);
      expect(compacted).toEqual(live.slice(0, compacted.length));
    } finally {
      await store.close();
      await admin.close();
      await grafanaServer.stop();
    }
  });

  it('runs `demo --redis` on the module server: every transaction a RedisJSON document with its series points, 0 dead letters', async () => {
    const demoServer = await startRedisServer({ modules: true });
    const raw = await connectRaw(demoServer.url);
    try {
      const prefix = randomKeyPrefix('demo');
      const N = 2_000;
      const r = await runCli([
        'demo',
        '--redis',
        demoServer.url,
        '--prefix',
        prefix,
        ...SMALL,
        '--history-days',
        '40',
        '--train-days',
        '7',
        '--count',
        String(N),
      ]);
      expect(r.code, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
        live: number;
        stored: number;
        deadLettered: number;
      };
      expect(summary).toMatchObject({ live: N, stored: N, deadLettered: 0 });
      const docs = await scanKeys(raw, `${prefix}tx:*`);
      expect(docs).toHaveLength(N);
      const types = await Promise.all(docs.slice(0, 200).map((k) => raw.sendCommand(['TYPE', k])));
      expect(new Set(types)).toEqual(new Set(['ReJSON-RL']));
      const series = async (key: string): Promise<number> =>
        ((await raw.sendCommand(['TS.RANGE', key, '-', '+'])) as unknown[]).length;
      expect(await series('fraud-ts')).toBe(N);
      expect((await series('fraudulent_ts')) + (await series('non-fraudulent_ts'))).toBe(N);
      // Nothing dead-lettered anywhere: the store's dead letters and the transport's DLQ stream.
      const store = await RedisStore.connect({ url: demoServer.url, prefix });
      expect(await store.countDeadLetters()).toBe(0);
      await store.close();
      for (const key of await scanKeys(raw, `${prefix}*dead*`)) {
        if (String(await raw.sendCommand(['TYPE', key])) === 'stream')
          expect(await raw.xLen(key), key).toBe(0);
      }
    } finally {
      await raw.close();
      await demoServer.stop();
    }
  }, 120_000);
});
