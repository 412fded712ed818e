/**
 * The dashboard as the CLI serves it: `demo` on by default (off with `--no-dashboard` or the
 * config file), a chosen port that is taken fails clearly, and `consume --dashboard-port` shows
 * what the consumer persists in Redis; both also serve Prometheus metrics at /metrics. Processes and servers are stopped by their own pids.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DashboardSnapshot } from '../../src/dashboard/index.js';
import {
  killAllStarted,
  produceToRedis,
  redisConsumeArgs,
  runCli,
  SMALL,
  startCli,
  trainSmallBundle,
  waitUntil,
} from '../helpers/cli.js';
import {
  type RedisServerHandle,
  randomKeyPrefix,
  skipWithoutRedis,
  startRedisServer,
} from '../helpers/redis-server.js';

const DEMO = ['demo', ...SMALL, '--history-days', '40', '--train-days', '7'] as const;

async function summary(url: string): Promise<Pick<DashboardSnapshot, 'totals' | 'window' | 'info'>> {
  const res = await fetch(`${url}api/summary`);
  if (res.status !== 200) throw new Error(`GET ${url}api/summary answered ${res.status}`);
  return (await res.json()) as DashboardSnapshot;
}

/** Whether anything answers at `url` (false once the server is closed). */
async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url);
    return true;
  } catch {
    return false;
  }
}

describe('dashboard from the CLI', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fraudstream-dashboard-cli-'));
  });
  afterEach(async () => {
    await killAllStarted();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('demo serves the live transactions on localhost, prints the URL and stops serving when it ends', async () => {
    const demo = startCli([...DEMO, '--count', '0', '--rate', '2000', '--dashboard-port', '0']);
    let url = '';
    await waitUntil('the dashboard URL', () => {
      url = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(demo.stderr())?.[1] ?? '';
      return url !== '' || demo.child.exitCode !== null;
    });
    expect(url, demo.stderr()).not.toBe('');
    await waitUntil(
      'live transactions on the dashboard',
      async () => (await summary(url)).totals.transactions > 0,
    );
    const seen = await summary(url);
    expect(seen.info.source).toBe('simulator');
    expect(seen.info.model).toMatch(/^[0-9a-f]{16} \(validation AUC/);
    // The same server exposes the pipeline's Prometheus metrics.
    const scrape = await fetch(`${url}metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const metrics = await scrape.text();
    const persisted = Number(/^fraudstream_records_persisted_total (\d+)$/m.exec(metrics)?.[1]);
    expect(persisted).toBeGreaterThan(0);
    expect(metrics).toMatch(/^fraudstream_model_info\{version="[0-9a-f]{16}"\} 1$/m);
    expect(metrics).toMatch(/^process_cpu_seconds_total /m);
    demo.signal('SIGINT');
    const exit = await demo.exited;
    expect(exit.code, demo.stderr()).toBe(0);
    const last = JSON.parse(demo.stdout().trim().split('\n').pop()!);
    expect(last.stored).toBeGreaterThanOrEqual(seen.totals.transactions);
    expect(last.live).toBeGreaterThanOrEqual(persisted);
    expect(await answers(url)).toBe(false);
  }, 120_000);

  it('demo serves nothing with --no-dashboard, or when the config file says so', async () => {
    const off = await runCli([...DEMO, '--count', '200', '--no-dashboard']);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stderr).not.toMatch(/dashboard/);
    for (const demo of [{ dashboard: false }, { 'no-dashboard': true }]) {
      const config = join(dir, 'config.json');
      await writeFile(config, JSON.stringify({ demo }));
      const fromFile = await runCli(['--config', config, ...DEMO, '--count', '200']);
      expect(fromFile.code, fromFile.stderr).toBe(0);
      expect(fromFile.stderr, JSON.stringify(demo)).not.toMatch(/dashboard/);
    }
  }, 120_000);

  it('demo stops with one clear line when the chosen port is taken', async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const r = await runCli([...DEMO, '--count', '200', '--dashboard-port', String(port)]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n').pop()).toBe(
        `fraudstream: --dashboard-port ${port}: listening on 127.0.0.1:${port} is in use; choose another port (0 = any free one)`,
      );
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  }, 60_000);
});

describe.skipIf(skipWithoutRedis())('consume --dashboard-port', () => {
  let server: RedisServerHandle;
  let dir: string;
  beforeAll(async () => {
    server = await startRedisServer();
    dir = await mkdtemp(join(tmpdir(), 'fraudstream-consume-dashboard-'));
  });
  afterEach(async () => {
    await killAllStarted();
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('shows what the consumer persists in Redis', async () => {
    const models = join(dir, 'models');
    await trainSmallBundle(models);
    const stream = randomKeyPrefix('dash').slice(0, -1);
    const prefix = randomKeyPrefix();
    const produced = await produceToRedis(server.url, stream, 500);
    expect(produced.code, produced.stderr).toBe(0);
    const consumer = startCli(
      redisConsumeArgs(server.url, stream, prefix, models, ['--dashboard-port', '0']),
    );
    let url = '';
    await waitUntil('the consumer to report its dashboard', () => {
      url = /"dashboard":"(http:\/\/127\.0\.0\.1:\d+\/)"/.exec(consumer.stderr())?.[1] ?? '';
      return url !== '' || consumer.child.exitCode !== null;
    });
    expect(url, consumer.stderr()).not.toBe('');
    await waitUntil(
      '500 transactions on the dashboard',
      async () => (await summary(url)).totals.transactions === 500,
    );
    const seen = await summary(url);
    expect(seen.window.transactions).toBe(500);
    expect(seen.info.from).toBe(`${server.url}`);
    // The consumer's own totals, scraped from the same server, come to what the store holds
    // (its counters move just after a batch is stored and acknowledged, so wait for them).
    let metrics = '';
    await waitUntil('the metrics to count 500 persisted records', async () => {
      metrics = await (await fetch(`${url}metrics`)).text();
      return /^fraudstream_records_persisted_total 500$/m.test(metrics);
    });
    expect(metrics).toMatch(/^fraudstream_decisions_total\{decision="approve"\} \d+$/m);
    expect(metrics).toMatch(/^fraudstream_model_info\{version="[0-9a-f]{16}"\} 1$/m);
    consumer.signal('SIGTERM');
    const exit = await consumer.exited;
    expect(exit.code, consumer.stderr()).toBe(0);
    expect(await answers(url)).toBe(false);
  }, 120_000);
});
