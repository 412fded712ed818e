import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DashboardHandle,
  type DashboardSnapshot,
  type PipelineSummary,
  startDashboard,
} from '../../src/dashboard/index.js';
import { ConfigError, ListenError, TransientStoreError } from '../../src/errors/index.js';
import { PipelineMetrics } from '../../src/metrics/index.js';
import { type CounterBucket, MemoryStore } from '../../src/store/index.js';
import { record, SseReader } from './fixtures.js';

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** GET with a chosen Host header (fetch does not let a caller set it). */
function getWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', reject);
    req.end();
  });
}

describe('dashboard HTTP API', () => {
  const store = new MemoryStore();
  let dashboard: DashboardHandle;
  let base: string;
  const now = Date.now();

  beforeAll(async () => {
    await store.persistBatch([
      record(1, now - 3_000, 'approve', 0.1),
      record(2, now - 2_500, 'review', 0.75),
      record(3, now - 2_000, 'approve', 0.2),
      record(4, now - 1_500, 'decline', 0.97),
      record(5, now - 1_000, 'approve', 0.05),
    ]);
    await store.deadLetter([
      {
        position: '11',
        payload: '{"amount":',
        reason: 'payload: truncated JSON',
        errorName: 'ParseError',
        atMs: now,
      },
    ]);
    dashboard = await startDashboard({
      store,
      port: 0,
      title: 'Fraud <b>desk</b>',
      info: { store: 'memory' },
    });
    base = dashboard.url.replace(/\/$/, '');
  });
  afterAll(async () => {
    await dashboard?.close();
  });

  it('listens on loopback by default and reports the port it got', () => {
    expect(dashboard.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(dashboard.url).not.toMatch(/:0\/$/);
  });

  it('serves the page with an escaped title, its scripts from node_modules, and a strict policy', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).toContain('<title>Fraud &#60;b&#62;desk&#60;/b&#62;</title>');
    expect(html).not.toContain('<b>desk</b>');
    expect(html).not.toMatch(/https?:\/\//); // nothing from a CDN: the page works offline
    for (const asset of ['uPlot.iife.min.js', 'uPlot.min.css', 'dashboard.js', 'dashboard.css']) {
      expect(html).toContain(`/assets/${asset}`);
      const a = await fetch(`${base}/assets/${asset}`);
      expect(a.status, asset).toBe(200);
      expect((await a.text()).length).toBeGreaterThan(100);
    }
    expect(await (await fetch(`${base}/assets/uPlot.iife.min.js`)).text()).toContain('uPlot');
  });

  it('serves no other file, whatever the path', async () => {
    expect((await fetch(`${base}/assets/package.json`)).status).toBe(404);
    expect((await fetch(`${base}/assets/..%2F..%2Fpackage.json`)).status).toBe(404);
    const missing = await getJson(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('no route GET /nope');
  });

  it('summarises the store', async () => {
    const { status, body } = await getJson(`${base}/api/summary`);
    expect(status).toBe(200);
    expect(body.totals).toEqual({ transactions: 5, deadLetters: 1 });
    const window = body.window as DashboardSnapshot['window'];
    expect(window.decisions).toEqual({ approve: 3, review: 1, decline: 1 });
    expect(window.flagged).toBe(2);
    expect(body.latestFraudulent).toMatchObject({ v: 0.97, transactionId: 'tx-4' });
    expect(body.info).toEqual({ store: 'memory' });
  });

  it('returns the counters of either interval', async () => {
    for (const interval of [1_000, 10_000]) {
      const { status, body } = await getJson(`${base}/api/counters?interval=${interval}&minutes=5`);
      expect(status).toBe(200);
      expect(body.intervalMs).toBe(interval);
      const buckets = body.buckets as CounterBucket[];
      expect(buckets.reduce((a, b) => a + b.transactions, 0)).toBe(5);
      expect(buckets.reduce((a, b) => a + b.decline, 0)).toBe(1);
      for (const b of buckets) expect(b.t % interval).toBe(0);
    }
  });

  it('returns a score series aggregated per bucket', async () => {
    const { status, body } = await getJson(`${base}/api/series/fraudulent_ts?bucket=60000&type=count`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ name: 'fraudulent_ts', labels: { type: 'fraud_score' }, bucketMs: 60_000 });
    const points = body.points as { v: number }[];
    expect(points.reduce((a, p) => a + p.v, 0)).toBe(2);
    const max = await getJson(`${base}/api/series/fraud-ts?bucket=3600000&type=max`);
    expect(Math.max(...(max.body.points as { v: number }[]).map((p) => p.v))).toBe(0.97);
  });

  it('lists the newest alerts and dead letters first', async () => {
    const { body } = await getJson(`${base}/api/alerts?limit=1`);
    expect((body.alerts as { transactionId: string }[]).map((a) => a.transactionId)).toEqual(['tx-4']);
    const all = await getJson(`${base}/api/alerts`);
    expect((all.body.alerts as { transactionId: string }[]).map((a) => a.transactionId)).toEqual([
      'tx-4',
      'tx-2',
    ]);
    const dead = await getJson(`${base}/api/dead-letters?limit=5`);
    expect(dead.body.count).toBe(1);
    expect(dead.body.deadLetters).toEqual([
      expect.objectContaining({ position: '11', payload: '{"amount":' }),
    ]);
  });

  it('answers bad parameters with 400 and says what is wrong', async () => {
    const cases: [string, string][] = [
      ['/api/counters?interval=5', 'interval must be one of 1000, 10000, got "5"'],
      ['/api/counters?minutes=0', 'minutes must be an integer from 1 to 60, got "0"'],
      ['/api/counters?minutes=abc', 'minutes must be an integer from 1 to 60, got "abc"'],
      ['/api/counters?minutes=1.5', 'minutes must be an integer from 1 to 60, got "1.5"'],
      ['/api/counters?interval=1000&interval=10000', 'interval must be given once'],
      ['/api/series/fraud-ts?type=median', 'type must be one of avg, max, count, sum, got "median"'],
      ['/api/series/fraud-ts?bucket=10', 'bucket must be an integer from 1000 to 3600000, got "10"'],
      ['/api/alerts?limit=5000', 'limit must be an integer from 1 to 1000, got "5000"'],
      ['/api/dead-letters?limit=-1', 'limit must be an integer from 1 to 1000, got "-1"'],
    ];
    for (const [path, message] of cases) {
      const { status, body } = await getJson(`${base}${path}`);
      expect(status, path).toBe(400);
      expect(body, path).toEqual({ error: 'Bad Request', message });
    }
    const unknown = await getJson(`${base}/api/series/fraud`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toBe(
      'no series "fraud"; series are fraud-ts, fraudulent_ts, non-fraudulent_ts',
    );
  });

  it('answers only requests addressed to loopback (no DNS rebinding)', async () => {
    const port = new URL(base).port;
    expect(await getWithHost(`${base}/api/summary`, `localhost:${port}`)).toBe(200);
    expect(await getWithHost(`${base}/api/summary`, `[::1]:${port}`)).toBe(200);
    expect(await getWithHost(`${base}/api/summary`, `attacker.example:${port}`)).toBe(403);
  });

  it('refuses a port in use with a ListenError naming it', async () => {
    const port = Number(new URL(base).port);
    const error = await startDashboard({ store, port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ListenError);
    expect(error).toMatchObject({ code: 'EADDRINUSE', port, host: '127.0.0.1' });
    expect((error as Error).message).toBe(`listening on 127.0.0.1:${port} is in use`);
  });

  it('serves Prometheus metrics at /metrics when given some, and 404 otherwise', async () => {
    expect((await getJson(`${base}/metrics`)).status).toBe(404);
    const metrics = new PipelineMetrics({ stats: () => undefined, processMetrics: false });
    const withMetrics = await startDashboard({ store, port: 0, metrics });
    try {
      const res = await fetch(`${withMetrics.url}metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(metrics.contentType);
      expect(await res.text()).toMatch(/^fraudstream_records_persisted_total 0$/m);
    } finally {
      await withMetrics.close();
    }
  });

  it("shows the consumer's stall and the dead letters of both destinations, without the error text", async () => {
    expect((await getJson(`${base}/api/summary`)).body.pipeline).toBeNull();
    const since = Date.now() - 42_000;
    const withPipeline = await startDashboard({
      store,
      port: 0,
      pipeline: () => ({
        stalledSinceMs: since,
        lastStoreError: 'StoreError: OOM command not allowed at redis://secret-host:6379',
        storeRetries: 9,
        deadLetters: { store: { ParseError: 2 }, transport: { 'max-deliveries': 10_910 } },
      }),
    });
    try {
      const { status, body } = await getJson(`${withPipeline.url}api/summary`);
      expect(status).toBe(200);
      const p = body.pipeline as PipelineSummary;
      expect(p.stalled).toBe(true);
      expect(p.stalledSinceMs).toBe(since);
      expect(p.stalledSeconds).toBeGreaterThanOrEqual(42);
      expect(p.lastStoreError).toBe('StoreError');
      expect(p.storeRetries).toBe(9);
      expect(p.deadLetters).toEqual([
        { destination: 'transport', reason: 'max-deliveries', count: 10_910 },
        { destination: 'store', reason: 'ParseError', count: 2 },
      ]);
      expect(p.transportDeadLetters).toBe(10_910);
      expect(JSON.stringify(body)).not.toContain('secret-host');
    } finally {
      await withPipeline.close();
    }
  });

  it('validates its options once, at start', async () => {
    await expect(startDashboard({ store, port: -1 })).rejects.toThrow(ConfigError);
    await expect(startDashboard({ store, windowMs: 15_000 })).rejects.toThrow(/multiple of 10000/);
    await expect(startDashboard({ store, pushIntervalMs: 5 })).rejects.toThrow(/pushIntervalMs/);
  });
});

describe('dashboard event stream', () => {
  it('pushes a snapshot on connect and again after new records, and ends streams on close', async () => {
    const store = new MemoryStore();
    const dashboard = await startDashboard({ store, port: 0, pushIntervalMs: 100 });
    try {
      const res = await fetch(`${dashboard.url}events`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      const events = new SseReader(res.body!);
      const first = await events.next();
      expect(first?.event).toBe('message');
      expect((JSON.parse(first!.data) as DashboardSnapshot).totals.transactions).toBe(0);

      const now = Date.now();
      await store.persistBatch([record(1, now, 'approve', 0.1), record(2, now, 'decline', 0.9)]);
      const later = await events.until((e) => JSON.parse(e.data).totals.transactions === 2);
      const snapshot = JSON.parse(later.data) as DashboardSnapshot;
      expect(snapshot.alerts.map((a) => a.transactionId)).toEqual(['tx-2']);
      expect(snapshot.window.decisions.decline).toBe(1);

      await dashboard.close();
      // Whatever was in flight, the stream then ends instead of hanging.
      while (await events.next()) {}
    } finally {
      await dashboard.close();
    }
  });

  it('turns away event streams beyond maxClients', async () => {
    const dashboard = await startDashboard({ store: new MemoryStore(), port: 0, maxClients: 1 });
    try {
      const first = await fetch(`${dashboard.url}events`);
      expect(first.status).toBe(200);
      const second = await fetch(`${dashboard.url}events`);
      expect(second.status).toBe(503);
      expect(await second.json()).toEqual({
        error: 'Service Unavailable',
        message: 'too many open event streams',
      });
      await first.body!.cancel();
    } finally {
      await dashboard.close();
    }
  });

  it('tells the page when the store cannot be read, without the error text, and recovers', async () => {
    let failing = true;
    class FlakyStore extends MemoryStore {
      override async counters(...args: Parameters<MemoryStore['counters']>): Promise<CounterBucket[]> {
        if (failing) throw new TransientStoreError('connection to redis://user:secret@db:6379 lost');
        return super.counters(...args);
      }
    }
    const dashboard = await startDashboard({ store: new FlakyStore(), port: 0, pushIntervalMs: 100 });
    try {
      const api = await fetch(`${dashboard.url}api/summary`);
      expect(api.status).toBe(503);
      expect(await api.text()).not.toContain('secret');
      const res = await fetch(`${dashboard.url}events`);
      const events = new SseReader(res.body!);
      const problem = await events.next();
      expect(problem).toEqual({
        event: 'store-error',
        data: JSON.stringify({ message: 'TransientStoreError', pipeline: null }),
      });
      failing = false;
      const next = await events.until((e) => e.event === 'message');
      expect(JSON.parse(next.data).totals.transactions).toBe(0);
      await events.cancel();
    } finally {
      await dashboard.close();
    }
  });
});
