import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
import { randomKeyPrefix, skipWithoutRedis, startRedisServer } from '../helpers/redis-server.js';

async function fingerprintOf(models: string): Promise<string> {
  return (JSON.parse(await readFile(join(models, 'manifest.json'), 'utf8')) as { fingerprint: string })
    .fingerprint;
}

describe.skipIf(skipWithoutRedis())('consume reloads a retrained bundle without stopping', () => {
  afterAll(async () => {
    await killAllStarted();
  });

  it('picks up a new manifest between batches and keeps consuming', async () => {
    const server = await startRedisServer();
    const dir = await mkdtemp(join(tmpdir(), 'fraudstream-reload-'));
    try {
      const models = join(dir, 'models');
      await trainSmallBundle(models);
      const first = await fingerprintOf(models);
      const stream = randomKeyPrefix('reload').slice(0, -1);
      const prefix = randomKeyPrefix('reload');
      const consumer = startCli(
        redisConsumeArgs(server.url, stream, prefix, models, ['--log-level', 'info']),
      );
      await waitUntil('the consumer to start', () => consumer.stderr().includes('consumer started'));
      const retrain = await runCli([
        'train',
        ...SMALL,
        '--train-from',
        '2018-05-12',
        '--train-to',
        '2018-05-22',
        '--trees',
        '15',
        '--rcf-trees',
        '5',
        '--out',
        models,
      ]);
      expect(retrain.code, retrain.stderr).toBe(0);
      const second = await fingerprintOf(models);
      expect(second).not.toBe(first);
      await waitUntil('the reload', () => consumer.stderr().includes('model bundle reloaded'), 20_000);
      expect(consumer.stderr()).toContain(second);
      const produced = await runCli([
        'produce',
        '--source',
        'simulator',
        ...SMALL,
        '--days',
        '60',
        '--count',
        '300',
        '--to',
        server.url,
        '--stream',
        stream,
      ]);
      expect(produced.code, produced.stderr).toBe(0);
      await waitUntil('300 records persisted', () => persistedAtLeast(consumer.stderr(), 300));
      consumer.signal('SIGTERM');
      const exit = await consumer.exited;
      expect(exit.code).toBe(0);
      expect(consumer.stderr()).not.toContain('reload failed');
    } finally {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('refuses a bundle with another label delay, and a corrupted one, and keeps scoring with the old', async () => {
    const server = await startRedisServer();
    const dir = await mkdtemp(join(tmpdir(), 'fraudstream-reload-'));
    try {
      const models = join(dir, 'models');
      await trainSmallBundle(models);
      const first = await fingerprintOf(models);
      const stream = randomKeyPrefix('refuse').slice(0, -1);
      const prefix = randomKeyPrefix('refuse');
      const consumer = startCli(
        redisConsumeArgs(server.url, stream, prefix, models, ['--log-level', 'info']),
      );
      await waitUntil('the consumer to start', () => consumer.stderr().includes('consumer started'));

      // The feature state was built with a 7-day label delay: a 3-day bundle cannot take over.
      const retrain = await runCli([
        'train',
        ...SMALL,
        '--train-from',
        '2018-05-12',
        '--train-to',
        '2018-05-22',
        '--trees',
        '15',
        '--rcf-trees',
        '5',
        '--delay-days',
        '3',
        '--out',
        models,
      ]);
      expect(retrain.code, retrain.stderr).toBe(0);
      expect(await fingerprintOf(models)).not.toBe(first);
      await waitUntil('the refusal', () => refusals(consumer.stderr()).length >= 1, 20_000);
      const [delay] = refusals(consumer.stderr());
      expect(delay?.err).toMatch(/refused: label delay 3 days differs from the running 7 days/);
      expect(delay?.model).toBe(first);

      // Back to a compatible manifest, but with a model file altered after training.
      await trainSmallBundle(models);
      const gbdt = join(models, 'gbdt.json');
      await writeFile(gbdt, (await readFile(gbdt, 'utf8')).replace(/"baseMargin":[^,]+/, '"baseMargin":3'));
      const later = new Date(Date.now() + 5_000);
      await utimes(join(models, 'manifest.json'), later, later);
      await waitUntil('the second refusal', () => refusals(consumer.stderr()).length >= 2, 20_000);
      const corrupted = refusals(consumer.stderr()).find((r) => /gbdt\.json does not match/.test(r.err));
      expect(corrupted?.err, consumer.stderr().slice(-2000)).toMatch(/SHA-256/);
      expect(corrupted?.model).toBe(first);

      const produced = await produceToRedis(server.url, stream, 300);
      expect(produced.code, produced.stderr).toBe(0);
      await waitUntil('300 records persisted', () => persistedAtLeast(consumer.stderr(), 300));
      consumer.signal('SIGTERM');
      const exit = await consumer.exited;
      expect(exit.code).toBe(0);
      expect(consumer.stderr()).not.toContain('model bundle reloaded');
    } finally {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

/** The consumer's `model bundle refused` log lines: reason and the model it kept. */
function refusals(stderr: string): { err: string; model: string }[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes('model bundle refused'))
    .map((line) => JSON.parse(line) as { err: string; model: string });
}

/** Sums the `persisted` counts of the consumer's per-batch log lines (JSON, one per line). */
function persistedAtLeast(stderr: string, n: number): boolean {
  let total = 0;
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{') || !line.includes('"msg":"batch"')) continue;
    total += (JSON.parse(line) as { persisted: number }).persisted;
  }
  return total >= n;
}
