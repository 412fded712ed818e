import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRaw, runCli as run, SMALL, trainSmallBundle } from '../helpers/cli.js';
import { KINESALITE_CREDENTIALS, type KinesaliteHandle, startKinesalite } from '../helpers/kinesalite.js';
import {
  type RedisServerHandle,
  randomKeyPrefix,
  skipWithoutRedis,
  startRedisServer,
} from '../helpers/redis-server.js';

interface Summary {
  persisted: number;
  duplicates: number;
  deadLettered: number;
}

function summaryOf(stderr: string): Summary {
  const match = /consume: stopped; (\{.*\})/.exec(stderr);
  if (!match) throw new Error(`no summary in:\n${stderr}`);
  return JSON.parse(match[1]!) as Summary;
}

describe('CLI over Kinesis (kinesalite)', () => {
  let kinesis: KinesaliteHandle;
  let dir: string;
  let env: Record<string, string>;
  let redis: RedisServerHandle | undefined;
  beforeAll(async () => {
    kinesis = await startKinesalite();
    dir = await mkdtemp(join(tmpdir(), 'fraudstream-kinesis-'));
    env = {
      AWS_ACCESS_KEY_ID: KINESALITE_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: KINESALITE_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
      KINESIS_ENDPOINT: kinesis.endpoint,
    };
  });
  afterAll(async () => {
    await redis?.stop();
    await kinesis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('produces to a Kinesis stream and consumes every record from it', async () => {
    const models = join(dir, 'models');
    await trainSmallBundle(models);
    const produced = await run(
      [
        'produce',
        '--source',
        'simulator',
        ...SMALL,
        '--days',
        '60',
        '--count',
        '1500',
        '--to',
        'kinesis://tx',
        '--create-stream',
        '--shards',
        '2',
      ],
      env,
    );
    expect(produced.code, produced.stderr).toBe(0);
    expect(produced.stderr).toMatch(/produced 1,500 records/);
    const consumed = await run(
      [
        'consume',
        '--from',
        'kinesis://tx',
        '--store',
        'memory',
        '--models',
        models,
        '--count',
        '1500',
        '--log-level',
        'warn',
      ],
      env,
    );
    expect(consumed.code, consumed.stderr).toBe(0);
    const summary = summaryOf(consumed.stderr);
    expect(summary.persisted).toBe(1500);
    expect(summary.deadLettered).toBe(0);
  }, 120_000);

  describe.skipIf(skipWithoutRedis())('with a Redis store', () => {
    // One private redis-server for these tests, started by the first and stopped with kinesalite.
    const redisUrl = async (): Promise<string> => {
      redis ??= await startRedisServer();
      return redis.url;
    };
    // A bundle and a stream of 1000 records on 2 shards, made once for both tests.
    let ready: Promise<string> | undefined;
    const modelsAndStream = (): Promise<string> => {
      ready ??= (async () => {
        const models = join(dir, 'models-checkpoints');
        await trainSmallBundle(models);
        const produced = await run(
          [
            'produce',
            ...['--source', 'simulator', ...SMALL, '--days', '60', '--count', '1000'],
            ...['--to', 'kinesis://cp', '--create-stream', '--shards', '2'],
          ],
          env,
        );
        expect(produced.code, produced.stderr).toBe(0);
        return models;
      })();
      return ready;
    };

    it('resumes a restarted consumer from its checkpoints, kept beside the store', async () => {
      const models = await modelsAndStream();
      const prefix = randomKeyPrefix('kcp');
      const url = await redisUrl();
      const consume = (count: number, extra: string[] = []) =>
        run(
          [
            'consume',
            ...['--from', 'kinesis://cp', '--store', url, '--prefix', prefix, '--models', models],
            ...['--batch-size', '100', '--count', String(count), '--log-level', 'info', ...extra],
          ],
          env,
        );
      const first = await consume(300);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).toContain(`"checkpoints":"redis ${prefix}kinesis:checkpoints:cp"`);
      const before = summaryOf(first.stderr);
      expect(before.persisted).toBeGreaterThanOrEqual(300);
      expect(before.persisted).toBeLessThan(1000);
      // The second consumer starts after what the first one stored: no record is read twice.
      const second = await consume(1000 - before.persisted);
      expect(second.code, second.stderr).toBe(0);
      expect(summaryOf(second.stderr)).toMatchObject({ persisted: 1000 - before.persisted, duplicates: 0 });
      const raw = await connectRaw(url);
      try {
        const saved = await raw.hGetAll(`${prefix}kinesis:checkpoints:cp`);
        expect(Object.keys(saved).sort()).toEqual(['shardId-000000000000', 'shardId-000000000001']);
      } finally {
        await raw.quit();
      }
      // Without checkpoints a consumer reads the stream from the start: all 1000 are duplicates.
      const fromStart = await consume(1000, ['--checkpoints', 'none']);
      expect(fromStart.code, fromStart.stderr).toBe(0);
      expect(summaryOf(fromStart.stderr)).toMatchObject({ persisted: 0, duplicates: 1000 });
    }, 180_000);

    it('keeps checkpoints in a file when asked, and refuses redis checkpoints without a Redis store', async () => {
      const models = await modelsAndStream();
      const file = join(dir, 'checkpoints.json');
      const prefix = randomKeyPrefix('kcpf');
      const url = await redisUrl();
      const consume = (count: number) =>
        run(
          [
            'consume',
            ...['--from', 'kinesis://cp', '--store', url, '--prefix', prefix, '--models', models],
            ...['--batch-size', '100', '--count', String(count), '--checkpoints', `file:${file}`],
            ...['--log-level', 'warn'],
          ],
          env,
        );
      const first = await consume(200);
      expect(first.code, first.stderr).toBe(0);
      const done = summaryOf(first.stderr).persisted;
      const second = await consume(1000 - done);
      expect(second.code, second.stderr).toBe(0);
      expect(summaryOf(second.stderr)).toMatchObject({ persisted: 1000 - done, duplicates: 0 });
      const refused = await run(
        [
          'consume',
          '--from',
          'kinesis://cp',
          '--store',
          'memory',
          '--models',
          models,
          '--checkpoints',
          'redis',
        ],
        env,
      );
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/--checkpoints redis keeps them beside a Redis store/);
    }, 180_000);
  });
});
