/**
 * `fraudstream serve` as a user runs it: the README's curl examples, the key from the
 * environment (never printed), the refusal to serve the network without a key, and the Redis
 * store with its search indexes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killAllStarted, runCli, startCli, trainSmallBundle, waitUntil } from '../helpers/cli.js';
import {
  type RedisServerHandle,
  randomKeyPrefix,
  skipWithoutRedis,
  startRedisServer,
} from '../helpers/redis-server.js';

const KEY = 'test-key-0123456789abcdef';

/** The README's example transaction. */
const EXAMPLE = {
  id: 'tx-1001',
  timestamp: '2018-05-25T10:15:00Z',
  cardId: '42',
  terminalId: '1337',
  amount: 57.3,
};

async function startServe(args: string[], env: Record<string, string> = {}) {
  const serve = startCli(['serve', '--port', '0', '--log-level', 'warn', ...args], env);
  let url = '';
  await waitUntil('serve to print its URL', () => {
    url = /serving: (http:\/\/\S+\/) /.exec(serve.stderr())?.[1] ?? '';
    return url !== '' || serve.child.exitCode !== null;
  });
  expect(url, serve.stderr()).not.toBe('');
  return { serve, url };
}

const score = (url: string, body: unknown, key?: string) =>
  fetch(`${url}api/score`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key && { authorization: `Bearer ${key}` }) },
    body: JSON.stringify(body),
  });

describe('fraudstream serve', () => {
  let dir: string;
  let models: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fraudstream-serve-cli-'));
    models = join(dir, 'models');
    await trainSmallBundle(models);
  }, 60_000);
  afterEach(async () => {
    await killAllStarted();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('answers POST /api/score as documented, with the key from FRAUDSTREAM_API_KEY, and stops on SIGTERM', async () => {
    const { serve, url } = await startServe(['--models', models], { FRAUDSTREAM_API_KEY: KEY });
    expect((await score(url, EXAMPLE)).status).toBe(401);
    const res = await score(url, EXAMPLE, KEY);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { results: { key: string; decision: string; fraudScore: number }[] };
    expect(body.results[0]!.key).toBe('tx-1001');
    expect(['approve', 'review', 'decline']).toContain(body.results[0]!.decision);
    const stored = await fetch(`${url}api/transactions/${encodeURIComponent(body.results[0]!.key)}`);
    expect(((await stored.json()) as { fraudScore: number }).fraudScore).toBe(body.results[0]!.fraudScore);
    expect((await fetch(`${url}readyz`)).status).toBe(200);
    expect((await fetch(url)).headers.get('content-type')).toMatch(/text\/html/);
    serve.signal('SIGTERM');
    expect((await serve.exited).code).toBe(0);
    expect(serve.stderr()).not.toContain(KEY);
    expect(serve.stdout()).not.toContain(KEY);
  }, 30_000);

  it('refuses a non-loopback host without a key, with one line', async () => {
    const r = await runCli(['serve', '--models', models, '--host', '0.0.0.0', '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without an API key/);
  });

  it.skipIf(skipWithoutRedis())(
    'on Redis: scores into the Redis store, finds transactions through its indexes, answers dry runs',
    async () => {
      const redis: RedisServerHandle = await startRedisServer();
      try {
        const prefix = randomKeyPrefix();
        const { url } = await startServe(['--models', models, '--store', redis.url, '--prefix', prefix]);
        const batch = [EXAMPLE, { ...EXAMPLE, id: 'tx-1002', timestamp: '2018-05-25T10:16:00Z' }];
        const scored = await score(url, batch);
        expect(scored.status).toBe(200);
        const first = ((await scored.json()) as { results: { features: Record<string, number> }[] })
          .results[0]!;
        const found = (await (await fetch(`${url}api/transactions?card=42&limit=10`)).json()) as {
          transactions: { transaction: { id: string } }[];
        };
        expect(found.transactions.map((r) => r.transaction.id)).toEqual(['tx-1002', 'tx-1001']);
        // A dry run of a transaction already scored reads it as a re-delivery: the same features,
        // from the Redis window state, and nothing stored.
        const dry = await score(url, { transactions: { ...EXAMPLE, id: 'tx-1001' }, dryRun: true });
        expect(dry.status).toBe(200);
        const dryBody = (await dry.json()) as {
          persisted: unknown;
          results: { features: Record<string, number> }[];
        };
        expect(dryBody.persisted).toBeNull();
        expect(dryBody.results[0]!.features).toEqual(first.features);
        await killAllStarted();
      } finally {
        await redis.stop();
      }
    },
    30_000,
  );
});
