/**
 * Crash tests of the Redis pipeline through the built CLI: a consumer killed mid-batch, the
 * Redis server restarted under a running consumer, and poison records. Each test starts its
 * own redis-server and consumer processes and stops them by pid.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/store/index.js';
import {
  connectRaw,
  killAllStarted,
  pendingCount,
  pendingFor,
  persistedInLogs,
  produceToRedis,
  redisConsumeArgs,
  runCli,
  SMALL,
  startCli,
  storedPositions,
  streamIds,
  trainSmallBundle,
  waitUntil,
} from '../helpers/cli.js';
import {
  type RedisServerHandle,
  randomKeyPrefix,
  skipWithoutRedis,
  startRedisServer,
} from '../helpers/redis-server.js';

const GROUP = 'fraudstream';
/** Key of the only shard of a stream produced without `--shards`. */
const shard0 = (stream: string): string => `${stream}:{s0}`;

describe.skipIf(skipWithoutRedis())('Redis pipeline crash tests (CLI)', () => {
  let dir: string;
  let models: string;
  let server: RedisServerHandle | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fraudstream-crash-'));
    models = join(dir, 'models');
    await trainSmallBundle(models);
  });
  afterEach(async () => {
    await killAllStarted();
    await server?.stop();
    server = undefined;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loses nothing when one of two consumers is SIGKILLed mid-batch: the other claims its pending entries', async () => {
    const N = 20_000;
    server = await startRedisServer();
    const { url } = server;
    const stream = randomKeyPrefix('crash-a').slice(0, -1);
    const prefix = randomKeyPrefix('crash-a');
    const produced = await produceToRedis(url, stream, N);
    expect(produced.code, produced.stderr).toBe(0);

    // Keyed by stream position, so that the check below can account for every entry by its id.
    const common = [
      '--batch-size',
      '100',
      '--claim-idle-ms',
      '500',
      '--log-level',
      'info',
      '--record-key',
      'id@position',
    ];
    const victim = startCli(
      redisConsumeArgs(url, stream, prefix, models, ['--consumer-name', 'victim', ...common]),
    );
    const survivor = startCli(
      redisConsumeArgs(url, stream, prefix, models, ['--consumer-name', 'survivor', ...common]),
    );
    const raw = await connectRaw(url);
    try {
      await waitUntil('the victim to persist 1,000 records', () => persistedInLogs(victim.stderr()) >= 1_000);

      // Kill only at a moment the victim holds delivered, unacknowledged entries: freeze it,
      // look at its pending list, and let it run on briefly if the list happens to be empty.
      let heldAtKill = 0;
      for (let attempt = 0; attempt < 200 && heldAtKill === 0; attempt++) {
        victim.signal('SIGSTOP');
        heldAtKill = await pendingFor(raw, shard0(stream), GROUP, 'victim');
        if (heldAtKill > 0) victim.signal('SIGKILL');
        else {
          victim.signal('SIGCONT');
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
      expect(heldAtKill, 'the victim never held pending entries').toBeGreaterThan(0);
      expect((await victim.exited).signal).toBe('SIGKILL');

      const store = await RedisStore.connect({ url, prefix });
      try {
        await waitUntil(
          'every record stored and acknowledged',
          async () => {
            return (
              (await store.countTransactions()) >= N && (await pendingCount(raw, shard0(stream), GROUP)) === 0
            );
            // Well under the 30 s default: the takeover must come from --claim-idle-ms 500.
          },
          25_000,
        );
        expect(await store.countTransactions()).toBe(N);
        expect(await store.countDeadLetters()).toBe(0);
      } finally {
        await store.close();
      }
      expect(await pendingFor(raw, shard0(stream), GROUP, 'victim')).toBe(0);

      survivor.signal('SIGTERM');
      expect((await survivor.exited).code, survivor.stderr()).toBe(0);

      // Every stream entry has exactly one document, and there is no other document.
      const ids = await streamIds(raw, shard0(stream));
      expect(ids).toHaveLength(N);
      const positions = await storedPositions(raw, prefix);
      expect(positions).toHaveLength(N);
      const stored = new Set(positions);
      expect(stored.size).toBe(N);
      const missing = ids.filter((id) => !stored.has(`${shard0(stream)}/${id}`));
      expect(missing).toEqual([]);
    } finally {
      raw.destroy();
    }
  }, 90_000);

  it('carries on through a restart of the Redis server (AOF on) and stores every record once', async () => {
    const HALF = 10_000;
    server = await startRedisServer({ appendOnly: true });
    const { url } = server;
    const stream = randomKeyPrefix('crash-b').slice(0, -1);
    const prefix = randomKeyPrefix('crash-b');
    const consumer = startCli(
      redisConsumeArgs(url, stream, prefix, models, [
        '--consumer-name',
        'steady',
        '--batch-size',
        '200',
        '--log-level',
        'warn',
        // The two halves come from two simulator runs whose ids overlap (both count from 0):
        // keyed by id, the second would be stored as duplicates of the first.
        '--record-key',
        'id@position',
      ]),
    );
    const first = await produceToRedis(url, stream, HALF, ['--seed', '1']);
    expect(first.code, first.stderr).toBe(0);

    const count = async (): Promise<number> => {
      if (consumer.child.exitCode !== null) throw new Error(`consumer exited: ${consumer.stderr()}`);
      const store = await RedisStore.connect({ url, prefix });
      try {
        return await store.countTransactions();
      } finally {
        await store.close();
      }
    };
    // Restart while the consumer is in the middle of the first half.
    await waitUntil('the consumer to be under way', async () => (await count()) >= 2_000);
    await server.restart();
    expect(consumer.child.exitCode, consumer.stderr()).toBeNull();

    const second = await produceToRedis(url, stream, HALF, ['--seed', '2']);
    expect(second.code, second.stderr).toBe(0);
    await waitUntil('every record of both halves stored', async () => (await count()) >= 2 * HALF);

    const raw = await connectRaw(url);
    try {
      await waitUntil('nothing pending', async () => (await pendingCount(raw, shard0(stream), GROUP)) === 0);
      expect(await count()).toBe(2 * HALF);
      expect(new Set(await storedPositions(raw, prefix)).size).toBe(2 * HALF);
    } finally {
      raw.destroy();
    }
    consumer.signal('SIGTERM');
    expect((await consumer.exited).code, consumer.stderr()).toBe(0);
  }, 90_000);

  it('dead-letters poison records with their reasons and stores every good record', async () => {
    const GOOD = 3_000;
    server = await startRedisServer();
    const { url } = server;
    const stream = randomKeyPrefix('crash-c').slice(0, -1);
    const prefix = randomKeyPrefix('crash-c');
    const recorded = await runCli([
      'produce',
      '--source',
      'simulator',
      ...SMALL,
      '--days',
      '60',
      '--count',
      String(GOOD),
    ]);
    expect(recorded.code, recorded.stderr).toBe(0);
    const good = recorded.stdout.trim().split('\n');
    expect(good).toHaveLength(GOOD);
    const poison = [
      'not json',
      '{"id":"no-fields"}',
      '{"data": "1,2,3", "metadata": ["2024-01-01 00:00:00", "x", "Web"]}',
      '[1,2,3]',
      '{"id":"t1","timestampMs":"soon","cardId":"c","terminalId":"t","amount":-5}',
    ];
    // Poison lines spread through the file, not bunched in one batch.
    const lines = [...good];
    poison.forEach((line, i) => {
      lines.splice(Math.floor(((i + 1) * lines.length) / (poison.length + 1)), 0, line);
    });
    const file = join(dir, 'poisoned.jsonl');
    await writeFile(file, `${lines.join('\n')}\n`);

    const produced = await runCli(['produce', '--source', `jsonl:${file}`, '--to', url, '--stream', stream]);
    expect(produced.code, produced.stderr).toBe(0);
    const consumer = startCli(
      redisConsumeArgs(url, stream, prefix, models, [
        '--batch-size',
        '250',
        '--count',
        String(GOOD + poison.length),
        '--log-level',
        'warn',
      ]),
    );
    expect((await consumer.exited).code, consumer.stderr()).toBe(0);

    const store = await RedisStore.connect({ url, prefix });
    try {
      expect(await store.countTransactions()).toBe(GOOD);
      expect(await store.countDeadLetters()).toBe(poison.length);
      const letters = await store.recentDeadLetters(100);
      expect(letters).toHaveLength(poison.length);
      expect(letters.map((l) => l.payload).sort()).toEqual([...poison].sort());
      for (const letter of letters) {
        expect(letter.reason.length, JSON.stringify(letter)).toBeGreaterThan(0);
        expect(letter.errorName).toBe('ParseError');
        expect(letter.position.startsWith(`${shard0(stream)}/`)).toBe(true);
      }
    } finally {
      await store.close();
    }
    const raw = await connectRaw(url);
    try {
      expect(await pendingCount(raw, shard0(stream), GROUP)).toBe(0);
      // Parse failures go to the store's dead letters, not to the transport's (max-deliveries) stream.
      expect(Number(await raw.sendCommand(['EXISTS', `${stream}:dead`]))).toBe(0);
    } finally {
      raw.destroy();
    }
  }, 60_000);
});
