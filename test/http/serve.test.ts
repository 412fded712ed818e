import type { FastifyInstance } from 'fastify';
import { createClient, RESP_TYPES } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, TransientStoreError } from '../../src/errors/index.js';
import { type Transaction, toLabEnvelope, toNativeJson } from '../../src/events/index.js';
import {
  createFeatureSet,
  DAY_MS,
  type FeatureSet,
  MemoryWindowState,
  RedisCardHistoryState,
  RedisWindowState,
} from '../../src/features/index.js';
import { buildServeApp, resolveServeOptions, type ServeOptions } from '../../src/http/index.js';
import { PipelineMetrics } from '../../src/metrics/index.js';
import { Consumer, RequestScorer } from '../../src/pipeline/index.js';
import { DriftMonitor, Scorer, type TrainedBundle } from '../../src/scoring/index.js';
import { MemoryStore, RedisStore, type Store } from '../../src/store/index.js';
import { MemoryTransport } from '../../src/transports/index.js';
import {
  type RedisServerHandle,
  randomKeyPrefix,
  skipWithoutRedis,
  startRedisServer,
} from '../helpers/redis-server.js';
import { SMALL_WORLD_START_MS, smallWorld, trainSmallBundle } from '../scoring/fixtures.js';

const KEY = 'k'.repeat(24);

let bundle: TrainedBundle;
let live: Transaction[];

beforeAll(async () => {
  bundle = await trainSmallBundle(50, 31, 49);
  live = smallWorld(52).filter((t) => t.timestampMs >= SMALL_WORLD_START_MS + 50 * DAY_MS);
}, 60_000);

/** A fresh server over its own memory store and window state. */
function serve(overrides: Partial<ServeOptions> & { featureSet?: FeatureSet } = {}) {
  const store = overrides.store ?? new MemoryStore();
  const featureSet = overrides.featureSet ?? createFeatureSet('transactions', { delayDays: 7 });
  const drift = new DriftMonitor(bundle.manifest.drift!, bundle.manifest.featureNames, {
    windowSize: 100,
    minSamples: 10,
  });
  const scorer = new RequestScorer({ featureSet, scorer: new Scorer(bundle), store, drift });
  const { featureSet: _ignored, ...options } = overrides;
  const app = buildServeApp({
    store,
    scorer,
    metrics: new PipelineMetrics({
      stats: () => scorer.stats,
      drift: () => drift.report(),
      processMetrics: false,
    }),
    drift: () => drift.report(),
    ...options,
  });
  return { app, store, scorer, featureSet };
}

const post = (app: FastifyInstance, url: string, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, payload: payload as string, headers });

const native = (t: Transaction) => JSON.parse(toNativeJson(t)) as Record<string, unknown>;

describe('POST /api/score', () => {
  let app: FastifyInstance;
  let store: Store;
  beforeAll(() => {
    ({ app, store } = serve());
  });
  afterAll(() => app.close());

  it('scores one native transaction, persists it and answers with both models, reasons and version', async () => {
    const tx = live[0]!;
    const res = await post(app, '/api/score', native(tx));
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.dryRun).toBe(false);
    expect(body.persisted).toEqual({ written: 1, duplicates: 0 });
    const [r] = body.results;
    expect(r.id).toBe(tx.id);
    expect(['approve', 'review', 'decline']).toContain(r.decision);
    expect(r.fraudScore).toBeGreaterThanOrEqual(0);
    expect(r.classifier.probability).toBeGreaterThanOrEqual(0);
    expect(r.classifier.prediction).toBe(r.classifier.probability >= 0.5 ? 1 : 0);
    expect(r.anomaly.normalized).toBeGreaterThanOrEqual(0);
    expect(Array.isArray(r.reasons)).toBe(true);
    expect(r.modelVersion).toBe(bundle.manifest.fingerprint);
    expect(Object.keys(r.features)).toEqual(bundle.manifest.featureNames);
    const stored = await store.getTransaction(r.key);
    expect(stored?.fraudScore).toBe(r.fraudScore);
    const read = await app.inject({ method: 'GET', url: `/api/transactions/${encodeURIComponent(r.key)}` });
    expect(read.statusCode).toBe(200);
    expect(read.json().fraudScore).toBe(r.fraudScore);

    const again = await post(app, '/api/score', native(tx));
    expect(again.json().persisted).toEqual({ written: 0, duplicates: 1 });
    expect(again.json().results[0].key).toBe(r.key);
  });

  it('scores an array and the {"transactions": …} form, native and lab format', async () => {
    const batch = live.slice(1, 4).map(native);
    const res = await post(app, '/api/score', batch);
    expect(res.statusCode).toBe(200);
    expect(res.json().results.map((r: { id: string }) => r.id)).toEqual(live.slice(1, 4).map((t) => t.id));
    const lab = JSON.parse(toLabEnvelope({ ...live[4]!, features: {} } as Transaction));
    const wrapped = await post(app, '/api/score', { transactions: [native(live[5]!), lab] });
    expect(wrapped.statusCode, wrapped.body).toBe(200);
    expect(wrapped.json().results).toHaveLength(2);
    expect(wrapped.json().persisted.written).toBe(2);
  });

  it('dry run: scores without storing and without changing the window state', async () => {
    const tx = live[10]!;
    const dry1 = (await post(app, '/api/score', { transactions: native(tx), dryRun: true })).json();
    const dry2 = (await post(app, '/api/score', { ...native(tx), dryRun: true })).json();
    expect(dry1.dryRun).toBe(true);
    expect(dry1.persisted).toBeNull();
    expect(dry2.results[0].features).toEqual(dry1.results[0].features);
    expect(await store.getTransaction(dry1.results[0].key)).toBeUndefined();
    // The real request sees the state as the dry runs left it: untouched.
    const real = (await post(app, '/api/score', native(tx))).json();
    expect(real.results[0].features).toEqual(dry1.results[0].features);
  });

  it('answers bad input with 400, the field and the reason, and stores nothing', async () => {
    const before = await store.countTransactions();
    const bad = { ...native(live[20]!), amount: 'abc' };
    const one = await post(app, '/api/score', bad);
    expect(one.statusCode).toBe(400);
    expect(one.json()).toMatchObject({ error: 'Bad Request', field: 'amount' });
    expect(one.json().reason).toMatch(/number/);
    const inArray = await post(app, '/api/score', [
      native(live[21]!),
      bad,
      { ...native(live[22]!), timestamp: 'soon' },
    ]);
    expect(inArray.statusCode).toBe(400);
    expect(inArray.json().field).toBe('[1].amount');
    expect(inArray.json().issues.map((i: { field: string }) => i.field)).toEqual([
      '[1].amount',
      '[2].timestamp',
    ]);
    const wrapped = await post(app, '/api/score', { transactions: [bad] });
    expect(wrapped.json().field).toBe('transactions[0].amount');
    expect((await post(app, '/api/score', { transactions: [], dryRun: false })).json().field).toBe(
      'transactions',
    );
    expect(
      (await post(app, '/api/score', { transactions: [native(live[0]!)], dryRun: 'yes' })).json().field,
    ).toBe('dryRun');
    expect((await post(app, '/api/score', { transactions: [native(live[0]!)], extra: 1 })).json().field).toBe(
      'extra',
    );
    const tooMany = await post(
      app,
      '/api/score',
      Array.from({ length: 1_001 }, () => native(live[0]!)),
    );
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().reason).toMatch(/at most 1000/);
    const notJson = await app.inject({
      method: 'POST',
      url: '/api/score',
      payload: '{"id": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().field).toBe('body');
    expect((await post(app, '/api/score', [1, 2])).json().field).toBe('[0]');
    expect(await store.countTransactions()).toBe(before);
  });

  it('limits the body size (413)', async () => {
    const small = serve({ bodyLimitBytes: 2_048 });
    const res = await post(small.app, '/api/score', live.slice(0, 30).map(native));
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toBe('Payload Too Large');
    await small.app.close();
  });
});

describe.skipIf(skipWithoutRedis())('dry runs on a Redis store and window state', () => {
  let server: RedisServerHandle;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** Every key under a prefix with its serialized value (DUMP), to compare states exactly. */
  async function snapshot(prefix: string): Promise<Record<string, string>> {
    const admin = createClient({ url: server.url });
    await admin.connect();
    try {
      const binary = admin.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
      const result: Record<string, string> = {};
      for await (const keys of admin.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
        for (const key of keys) result[key] = ((await binary.dump(key)) as Buffer).toString('hex');
      }
      return result;
    } finally {
      await admin.close();
    }
  }

  it('a dry run answers the features the following real score gets, and stores nothing', async () => {
    const prefix = randomKeyPrefix('dry');
    const store = await RedisStore.connect({ url: server.url, prefix: `${prefix}store:` });
    const state = await RedisWindowState.connect({ url: server.url, prefix: `${prefix}fs:`, delayDays: 7 });
    const { app } = serve({ store, featureSet: createFeatureSet('transactions', { state, delayDays: 7 }) });
    try {
      // A history first, so the windows hold entries, then transactions to dry-run.
      const history = await post(app, '/api/score', live.slice(0, 60).map(native));
      expect(history.statusCode, history.body).toBe(200);
      // Transactions of cards seen in the history (so their windows are not empty), no two with
      // the same card or terminal: a dry run reads each as if it came next, and then the real
      // scores one after another do not see each other either.
      const seen = new Set(live.slice(0, 60).map((t) => t.cardId));
      const next: Transaction[] = [];
      const used = new Set<string>();
      for (const t of live.slice(60)) {
        if (next.length === 10) break;
        if (!seen.has(t.cardId) || used.has(t.cardId) || used.has(`t:${t.terminalId}`)) continue;
        used.add(t.cardId).add(`t:${t.terminalId}`);
        next.push(t);
      }
      expect(next).toHaveLength(10);
      const before = await snapshot(prefix);
      const dry = await post(app, '/api/score', { transactions: next.map(native), dryRun: true });
      expect(dry.statusCode, dry.body).toBe(200);
      expect(dry.json().dryRun).toBe(true);
      expect(dry.json().persisted).toBeNull();
      expect(Object.keys(before).length).toBeGreaterThan(0);
      expect(await snapshot(prefix)).toEqual(before);
      for (const r of dry.json().results) expect(await store.getTransaction(r.key)).toBeUndefined();
      // The history is visible: some card has an earlier transaction in its 30-day window.
      expect(
        dry
          .json()
          .results.some(
            (r: { features: Record<string, number> }) => r.features.CUSTOMER_ID_NB_TX_30DAY_WINDOW! > 1,
          ),
      ).toBe(true);
      // Dry-run transactions do not see each other, so compare each one with its own real score.
      for (let i = 0; i < next.length; i++) {
        const real = await post(app, '/api/score', native(next[i]!));
        expect(real.statusCode, real.body).toBe(200);
        expect(real.json().results[0].features).toEqual(dry.json().results[i].features);
      }
    } finally {
      await app.close();
      await state.close();
      await store.close?.();
    }
  });

  it('transactions-plus on Redis: peek answers what extract then does, and stores nothing', async () => {
    const prefix = randomKeyPrefix('dryplus');
    const state = await RedisWindowState.connect({ url: server.url, prefix, delayDays: 7 });
    const cardHistory = await RedisCardHistoryState.connect({ url: server.url, prefix });
    const featureSet = createFeatureSet('transactions-plus', { state, cardHistory, delayDays: 7 });
    try {
      const width = featureSet.featureNames.length;
      await featureSet.extract(live.slice(0, 80), new Float64Array(80 * width));
      const before = await snapshot(prefix);
      const tx = live[80]!;
      const peeked = new Float64Array(width);
      await featureSet.peek([tx], peeked);
      expect(Object.keys(before).length).toBeGreaterThan(0);
      expect(await snapshot(prefix)).toEqual(before);
      const real = new Float64Array(width);
      await featureSet.extract([tx], real);
      expect(Array.from(peeked)).toEqual(Array.from(real));
    } finally {
      await state.close();
      await cardHistory.close();
    }
  });
});

describe('the same features as the stream consumer', () => {
  it('a transaction scored by the API and then streamed gets the same features', async () => {
    const featureSet = createFeatureSet('transactions', { state: new MemoryWindowState({ delayDays: 7 }) });
    const { app, store } = serve({ featureSet });
    const txs = live.slice(0, 40);
    const api = await post(app, '/api/score', txs.slice(0, 20).map(native));
    expect(api.statusCode).toBe(200);
    const transport = new MemoryTransport({ capacity: 1_000 });
    await transport.writer().publish(txs.map((t) => ({ partitionKey: t.cardId, payload: toNativeJson(t) })));
    await transport.writer().close?.();
    const consumer = new Consumer({
      reader: transport.reader({ maxBatch: 500, maxWaitMs: 5 }),
      store,
      featureSet,
      scorer: new Scorer(bundle),
    });
    const run = consumer.run();
    for (let i = 0; i < 100 && consumer.stats.persisted < 40; i++)
      await new Promise((r) => setTimeout(r, 20));
    await consumer.stop();
    await run;
    const streamed = (await store.searchTransactions({ limit: 1_000 })).transactions.filter(
      (r) => !r.key.includes('@api'),
    );
    expect(streamed).toHaveLength(40);
    for (const [i, r] of api.json().results.entries()) {
      const twin = streamed.find((s) => s.transaction.id === txs[i]!.id)!;
      expect(twin.features).toEqual(r.features);
    }
    await app.close();
  });
});

describe('POST /api/feedback', () => {
  it('labels by record key and by description; a fraud label raises the terminal risk seen later', async () => {
    const { app } = serve();
    const t0 = live[0]!;
    const terminal = t0.terminalId;
    const first = (await post(app, '/api/score', native(t0))).json().results[0];
    const res = await post(app, '/api/feedback', {
      labels: [{ key: first.key, label: 1, at: t0.timestampMs + DAY_MS }],
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ received: 1 });
    // Eight days later, at the same terminal: the labelled fraud is inside the delayed window.
    const later = { ...native(t0), id: 'later-1', timestamp: t0.timestampMs + 8 * DAY_MS };
    const risk = (await post(app, '/api/score', later)).json().results[0].features
      .TERMINAL_ID_RISK_7DAY_WINDOW;
    expect(risk).toBeGreaterThan(0);
    const described = await post(app, '/api/feedback', [
      { transactionId: t0.id, terminalId: terminal, timestamp: t0.timestampMs, label: 0 },
    ]);
    expect(described.json()).toEqual({ received: 1 });
    const after = { ...native(t0), id: 'later-2', timestamp: t0.timestampMs + 8 * DAY_MS + 1 };
    expect(
      (await post(app, '/api/score', after)).json().results[0].features.TERMINAL_ID_RISK_7DAY_WINDOW,
    ).toBe(0);
    await app.close();
  });

  it('answers bad labels with 400 and the field', async () => {
    const { app } = serve();
    const unknown = await post(app, '/api/feedback', { labels: [{ key: 'nope@api:1', label: 1 }] });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ field: 'labels[0].key' });
    expect((await post(app, '/api/feedback', { labels: [{ key: 'x', label: 2 }] })).json().field).toBe(
      'labels[0].label',
    );
    expect((await post(app, '/api/feedback', { labels: [] })).statusCode).toBe(400);
    expect((await post(app, '/api/feedback', [{ transactionId: 'a', label: 1 }])).json().field).toBe(
      '[0].terminalId',
    );
    await app.close();
  });
});

describe('GET /api/transactions', () => {
  it('searches by card, terminal, decision and time, page by page; 400 on bad parameters; 404 on unknown keys', async () => {
    const { app } = serve();
    const txs = live.slice(0, 60);
    await post(app, '/api/score', txs.map(native));
    const card = txs[0]!.cardId;
    const expected = txs.filter((t) => t.cardId === card).length;
    const page = await app.inject({ method: 'GET', url: `/api/transactions?card=${card}&limit=1` });
    expect(page.statusCode).toBe(200);
    expect(page.json().transactions).toHaveLength(1);
    const all = await app.inject({ method: 'GET', url: `/api/transactions?card=${card}&limit=100` });
    expect(all.json().transactions).toHaveLength(expected);
    if (expected > 1) {
      const next = await app.inject({
        method: 'GET',
        url: `/api/transactions?card=${card}&limit=1&cursor=${page.json().nextCursor}`,
      });
      expect(next.json().transactions[0].key).toBe(all.json().transactions[1].key);
    }
    const from = new Date(txs[10]!.timestampMs).toISOString();
    const timed = await app.inject({
      method: 'GET',
      url: `/api/transactions?from=${from}&to=${txs[20]!.timestampMs}&limit=1000`,
    });
    expect(timed.json().transactions).toHaveLength(11);
    const approve = await app.inject({ method: 'GET', url: '/api/transactions?decision=approve&limit=1000' });
    expect(approve.json().transactions.every((r: { decision: string }) => r.decision === 'approve')).toBe(
      true,
    );
    for (const [query, field] of [
      ['decision=maybe', 'decision'],
      ['limit=0', 'limit'],
      ['from=yesterday', 'from'],
      ['cursor=nonsense', 'cursor'],
      ['from=10&to=5', 'to'],
    ] as const) {
      const res = await app.inject({ method: 'GET', url: `/api/transactions?${query}` });
      expect(res.statusCode, query).toBe(400);
      expect(res.json().field, query).toBe(field);
    }
    expect((await app.inject({ method: 'GET', url: '/api/transactions/missing@api:1' })).statusCode).toBe(
      404,
    );
    await app.close();
  });
});

describe('API key', () => {
  it('needs Authorization: Bearer KEY on writes under /api/ (401 otherwise); reads stay open', async () => {
    const { app } = serve({ apiKey: KEY });
    const body = native(live[0]!);
    const none = await post(app, '/api/score', body);
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(none.body).not.toContain(KEY);
    expect((await post(app, '/api/score', body, { authorization: `Bearer ${KEY}x` })).statusCode).toBe(401);
    expect((await post(app, '/api/score', body, { authorization: KEY })).statusCode).toBe(401);
    expect((await post(app, '/api/feedback', { labels: [{ key: 'a', label: 1 }] })).statusCode).toBe(401);
    expect((await post(app, '/api/score', body, { authorization: `Bearer ${KEY}` })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/transactions?limit=5' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await app.close();
  });

  it('refuses a non-loopback host without a key unless insecure, and a short key', () => {
    const base = { store: new MemoryStore(), scorer: {} as RequestScorer };
    expect(() => resolveServeOptions({ ...base, host: '0.0.0.0' })).toThrow(ConfigError);
    expect(() => resolveServeOptions({ ...base, host: '0.0.0.0', insecure: true })).not.toThrow();
    expect(() => resolveServeOptions({ ...base, host: '0.0.0.0', apiKey: KEY })).not.toThrow();
    expect(() => resolveServeOptions({ ...base, apiKey: 'short' })).toThrow(ConfigError);
    try {
      resolveServeOptions({ ...base, apiKey: 'short' });
    } catch (err) {
      expect((err as Error).message).not.toContain('short');
    }
  });
});

describe('operations routes', () => {
  it('answers /healthz, /readyz (503 when the store is unreachable), /metrics with drift, /api/summary with drift', async () => {
    const { app } = serve();
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ ready: true, store: 'ok', model: bundle.manifest.fingerprint });
    await post(app, '/api/score', live.slice(0, 50).map(native));
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/fraudstream_records_persisted_total 50/);
    expect(metrics.body).toMatch(/fraudstream_drift_psi\{variable="fraud_score"\} \d/);
    expect(metrics.body).toMatch(/fraudstream_drift_psi\{variable="TX_AMOUNT"\} \d/);
    const summary = (await app.inject({ method: 'GET', url: '/api/summary' })).json();
    expect(summary.drift.samples).toBe(50);
    expect(typeof summary.drift.score).toBe('number');
    expect(summary.totals.transactions).toBe(50);
    await app.close();

    const broken = new MemoryStore();
    broken.countTransactions = async () => {
      throw new TransientStoreError('connection refused');
    };
    const down = serve({ store: broken });
    const notReady = await down.app.inject({ method: 'GET', url: '/readyz' });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toMatchObject({ ready: false, store: 'unreachable' });
    await down.app.close();
  });

  it('publishes an OpenAPI 3.1 document generated from the route schemas', async () => {
    const { app } = serve({ apiKey: KEY });
    const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    const paths = Object.keys(doc.paths);
    for (const p of [
      '/api/score',
      '/api/feedback',
      '/api/transactions',
      '/api/transactions/{key}',
      '/healthz',
      '/readyz',
      '/api/openapi.json',
      '/metrics',
      '/api/summary',
    ]) {
      expect(paths).toContain(p);
    }
    expect(paths).not.toContain('/events');
    const score = doc.paths['/api/score'].post;
    expect(score.requestBody.content['application/json'].schema.oneOf).toHaveLength(3);
    expect(score.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(score.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '413']));
    expect(doc.paths['/api/transactions/{key}'].get.parameters[0]).toMatchObject({ name: 'key', in: 'path' });
    expect(doc.paths['/api/transactions'].get.security).toBeUndefined();
    expect(doc.paths['/api/transactions'].get.parameters.map((p: { name: string }) => p.name)).toContain(
      'card',
    );
    expect(doc.components.securitySchemes.bearerAuth.scheme).toBe('bearer');
    await app.close();
  });
});
