import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as run, SMALL, trainSmallBundle } from '../helpers/cli.js';
import { KINESALITE_CREDENTIALS, type KinesaliteHandle, startKinesalite } from '../helpers/kinesalite.js';

describe('CLI over Kinesis (kinesalite)', () => {
  let kinesis: KinesaliteHandle;
  let dir: string;
  let env: Record<string, string>;
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
    const summary = JSON.parse(/consume: stopped; (\{.*\})/.exec(consumed.stderr)![1]!);
    expect(summary.persisted).toBe(1500);
    expect(summary.deadLettered).toBe(0);
  }, 120_000);
});
