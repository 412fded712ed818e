/**
 * The CLI against real Redis: `demo --redis`, `consume` shutdown and configuration (REDIS_URL,
 * password in the URL), and produce/consume on a Redis Cluster. Each test starts its own
 * redis-server(s); processes and servers are stopped by their own pids.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCluster } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parsePayload, recordKey, type Transaction } from '../../src/events/index.js';
import { RedisStore } from '../../src/store/index.js';
import {
  connectRaw,
  killAllStarted,
  pendingFor,
  persistedInLogs,
  produceToRedis,
  redisConsumeArgs,
  runCli,
  SMALL,
  startCli,
  trainSmallBundle,
  waitUntil,
} from '../helpers/cli.js';
import {
  type RedisClusterHandle,
  type RedisServerHandle,
  randomKeyPrefix,
  skipWithoutRedis,
  startRedisCluster,
  startRedisServer,
} from '../helpers/redis-server.js';

const GROUP = 'fraudstream';
const shard0 = (stream: string): string => `${stream}:{s0}`;
const streamName = (label: string): string => randomKeyPrefix(label).slice(0, -1);

async function storedCount(url: string, prefix: string): Promise<number> {
  const store = await RedisStore.connect({ url, prefix });
  try {
    return await store.countTransactions();
  } finally {
    await store.close();
  }
}

describe.skipIf(skipWithoutRedis(['redis-server', 'redis-cli']))('fraudstream CLI on Redis', () => {
  let dir: string;
  let models: string;
  let server: RedisServerHandle | undefined;
  let cluster: RedisClusterHandle | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fraudstream-redis-cli-'));
    models = join(dir, 'models');
    await trainSmallBundle(models);
  });
  afterEach(async () => {
    await killAllStarted();
    await server?.stop();
    await cluster?.stop();
    server = undefined;
    cluster = undefined;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the demo on Redis and stores every live transaction under its prefix', async () => {
    server = await startRedisServer();
    const prefix = randomKeyPrefix('demo');
    const r = await runCli([
      'demo',
      '--redis',
      server.url,
      '--prefix',
      prefix,
      ...SMALL,
      '--history-days',
      '40',
      '--train-days',
      '7',
      '--count',
      '3000',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { live: number; stored: number };
    expect(summary.live).toBe(3000);
    expect(summary.stored).toBe(summary.live);
    expect(await storedCount(server.url, prefix)).toBe(3000);
    // Nothing of the run landed under the default prefix.
    expect(await storedCount(server.url, 'fraudstream:')).toBe(0);
  }, 90_000);

  it('finishes the batch in hand on SIGTERM, exits 0 and leaves nothing pending', async () => {
    const N = 20_000;
    server = await startRedisServer();
    const { url } = server;
    const stream = streamName('sigterm');
    const prefix = randomKeyPrefix('sigterm');
    expect((await produceToRedis(url, stream, N)).code).toBe(0);
    const consumer = startCli(
      redisConsumeArgs(url, stream, prefix, models, [
        '--consumer-name',
        'graceful',
        '--batch-size',
        '200',
        '--log-level',
        'info',
      ]),
    );
    const raw = await connectRaw(url);
    try {
      await waitUntil('1,000 records persisted', () => persistedInLogs(consumer.stderr()) >= 1_000);
      // Signal while a batch is in hand: frozen with delivered, unacknowledged entries.
      let inHand: string[] = [];
      for (let attempt = 0; attempt < 200 && inHand.length === 0; attempt++) {
        consumer.signal('SIGSTOP');
        const rows = (await raw.sendCommand([
          'XPENDING',
          shard0(stream),
          GROUP,
          '-',
          '+',
          '1000',
          'graceful',
        ])) as [string, ...unknown[]][];
        inHand = rows.map((row) => row[0]);
        if (inHand.length === 0) {
          consumer.signal('SIGCONT');
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
      expect(inHand.length, 'never caught the consumer with a batch in hand').toBeGreaterThan(0);
      consumer.signal('SIGTERM');
      consumer.signal('SIGCONT');
      const exit = await consumer.exited;
      expect(exit.code, consumer.stderr()).toBe(0);

      expect(await pendingFor(raw, shard0(stream), GROUP, 'graceful')).toBe(0);
      const stored = await storedCount(url, prefix);
      expect(stored).toBeLessThan(N);
      // The batch in hand was persisted: each of its entries has its document.
      const store = await RedisStore.connect({ url, prefix });
      try {
        for (const id of inHand) {
          const entry = (await raw.sendCommand(['XRANGE', shard0(stream), id, id])) as [string, string[]][];
          const fields = entry[0]![1];
          const tx = parsePayload(fields[fields.indexOf('p') + 1]!) as Transaction;
          const key = recordKey(tx, `${shard0(stream)}/${id}`);
          expect(await store.getTransaction(key), key).toBeDefined();
        }
      } finally {
        await store.close();
      }
      const summary = consumer.stderr().match(/consume: stopped; (\{.*\})/);
      expect(summary, consumer.stderr().slice(-2000)).not.toBeNull();
      expect((JSON.parse(summary![1]!) as { persisted: number }).persisted).toBe(stored);
    } finally {
      raw.destroy();
    }
  }, 90_000);

  it('consume --no-forest scores with the classifier alone and stores no anomaly score', async () => {
    server = await startRedisServer();
    const stream = streamName('noforest');
    const prefix = randomKeyPrefix('noforest');
    expect((await produceToRedis(server.url, stream, 300)).code).toBe(0);
    const consumed = await runCli(
      redisConsumeArgs(server.url, stream, prefix, models, ['--count', '300', '--no-forest']),
    );
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(await storedCount(server.url, prefix)).toBe(300);
    const client = await connectRaw(server.url);
    try {
      let checked = 0;
      for await (const keys of client.scanIterator({ MATCH: `${prefix}tx:*`, COUNT: 1000 })) {
        for (const key of keys) {
          const doc = JSON.parse((await client.get(key))!) as Record<string, unknown>;
          expect(doc.anomalyScore, key).toBeNull();
          expect(doc.anomalyNormalized, key).toBeNull();
          expect(doc.fraudScore, key).toBe(doc.classifierProbability);
          checked++;
        }
      }
      expect(checked).toBe(300);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('takes the Redis URL from REDIS_URL with --from redis / --to redis', async () => {
    server = await startRedisServer();
    const env = { REDIS_URL: server.url };
    const stream = streamName('env');
    const prefix = randomKeyPrefix('env');
    const produced = await runCli(
      [
        'produce',
        '--source',
        'simulator',
        ...SMALL,
        '--days',
        '60',
        '--count',
        '1000',
        '--to',
        'redis',
        '--stream',
        stream,
      ],
      env,
    );
    expect(produced.code, produced.stderr).toBe(0);
    const consumed = await runCli(
      redisConsumeArgs('redis', stream, prefix, models, ['--count', '1000']),
      env,
    );
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(await storedCount(server.url, prefix)).toBe(1000);
    const withoutEnv = await runCli(redisConsumeArgs('redis', stream, prefix, models, ['--count', '1']), {
      REDIS_URL: '',
      REDIS_HOST: '',
    });
    expect(withoutEnv.code).not.toBe(0);
    expect(withoutEnv.stderr).toMatch(/REDIS_URL/);
  }, 60_000);

  it('reaches a password-protected server through the URL and never prints the password', async () => {
    server = await startRedisServer();
    const password = 'pw-7f1e0c93b2';
    const admin = await connectRaw(server.url);
    try {
      await admin.sendCommand(['CONFIG', 'SET', 'requirepass', password]);
    } finally {
      admin.destroy();
    }
    const url = `redis://:${password}@127.0.0.1:${server.port}`;
    const stream = streamName('auth');
    const prefix = randomKeyPrefix('auth');
    const produced = await produceToRedis(url, stream, 1000);
    expect(produced.code, produced.stderr).toBe(0);
    const consumed = await runCli(
      redisConsumeArgs(url, stream, prefix, models, ['--count', '1000', '--log-level', 'debug']),
    );
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(consumed.stderr).toMatch(/consumer started/);
    for (const output of [produced.stdout, produced.stderr, consumed.stdout, consumed.stderr]) {
      expect(output).not.toContain(password);
    }
    const store = await RedisStore.connect({ url, prefix });
    try {
      expect(await store.countTransactions()).toBe(1000);
    } finally {
      await store.close();
    }
    // Without the password the server refuses, and the error names no secret.
    const refused = await runCli(redisConsumeArgs(server.url, stream, prefix, models, ['--count', '1']));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/NOAUTH|auth/i);
    expect(refused.stderr).not.toContain(password);
  }, 60_000);

  it('produces to and consumes from a Redis Cluster over 6 stream shards', async () => {
    const N = 5_000;
    cluster = await startRedisCluster();
    const url = cluster.rootNodes[0]!.url;
    const stream = streamName('cluster');
    const prefix = randomKeyPrefix('cluster');
    const flags = ['--redis-cluster', '--shards', '6', '--stream', stream];
    const produced = await runCli([
      'produce',
      '--source',
      'simulator',
      ...SMALL,
      '--days',
      '60',
      '--count',
      String(N),
      '--to',
      url,
      ...flags,
    ]);
    expect(produced.code, produced.stderr).toBe(0);
    const consumed = await runCli([
      'consume',
      '--from',
      url,
      ...flags,
      '--prefix',
      prefix,
      '--models',
      models,
      '--batch-size',
      '500',
      '--count',
      String(N),
      '--log-level',
      'warn',
    ]);
    expect(consumed.code, consumed.stderr).toBe(0);
    const store = await RedisStore.connect({ cluster: { rootNodes: cluster.rootNodes }, prefix });
    try {
      expect(await store.countTransactions()).toBe(N);
      expect(await store.countDeadLetters()).toBe(0);
    } finally {
      await store.close();
    }
    // Cards were spread over all six shard keys, and every entry was acknowledged.
    const client = createCluster({ rootNodes: cluster.rootNodes });
    client.on('error', () => {});
    await client.connect();
    try {
      let total = 0;
      for (let shard = 0; shard < 6; shard++) {
        const key = `${stream}:{s${shard}}`;
        const length = Number(await client.sendCommand(key, true, ['XLEN', key]));
        expect(length, key).toBeGreaterThan(0);
        total += length;
        const pending = (await client.sendCommand(key, true, ['XPENDING', key, GROUP])) as [number];
        expect(Number(pending[0]), key).toBe(0);
      }
      expect(total).toBe(N);
    } finally {
      await client.close();
    }
  }, 90_000);
});
