/**
 * The bundled Lambda function (`npm run build:lambda`'s output, built here into a temporary
 * directory with a model bundle beside it) handles a Kinesis event made of records that
 * kinesalite returned, with a real redis-server behind a password given as the lab's REDIS_PWD,
 * and the classifier behind a serve-model endpoint (so the bundled AWS SDK client runs too).
 */

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import type { FastifyInstance } from 'fastify';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Transaction, toNativeJson } from '../../src/events/index.js';
import type {
  KinesisBatchResponse,
  KinesisEventRecord,
  KinesisStreamEvent,
} from '../../src/pipeline/index.js';
import { buildModelServer } from '../../src/sagemaker/index.js';
import { loadBundle, type ModelBundle, saveBundle } from '../../src/scoring/index.js';
import { RedisStore } from '../../src/store/index.js';
import { KinesisStreamTransport } from '../../src/transports/index.js';
import { KINESALITE_CREDENTIALS, type KinesaliteHandle, startKinesalite } from '../helpers/kinesalite.js';
import {
  type RedisServerHandle,
  randomKeyPrefix,
  skipWithoutRedis,
  startRedisServer,
} from '../helpers/redis-server.js';
import { smallWorld, trainSmallBundle } from '../scoring/fixtures.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const PASSWORD = 'lambda-test-secret';
const STREAM = 'demo-stream';
const MALFORMED = ['{"id":"broken","amount":', 'not json at all'];

interface BundledModule {
  handler(event: KinesisStreamEvent): Promise<KinesisBatchResponse>;
  closeLambda(): Promise<void>;
}

describe.skipIf(skipWithoutRedis())('the bundled Lambda handler', () => {
  let work: string;
  let redis: RedisServerHandle;
  let kinesis: KinesaliteHandle;
  let transport: KinesisStreamTransport;
  let bundled: BundledModule;
  let live: Transaction[];
  let event: KinesisStreamEvent;
  let local: ModelBundle;
  let endpoint: FastifyInstance;
  let invocations = 0;
  const prefix = randomKeyPrefix('lambda');
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'fraudstream-lambda-'));
    const models = join(work, 'bundle');
    await saveBundle(models, await trainSmallBundle(50, 31, 49));
    const outdir = join(work, 'task');
    await new Promise<void>((resolve, reject) =>
      execFile(
        process.execPath,
        [join(ROOT, 'scripts/build-lambda.mjs'), '--outdir', outdir, '--models', models],
        (error, _stdout, stderr) => (error ? reject(new Error(`build-lambda failed: ${stderr}`)) : resolve()),
      ),
    );
    expect(existsSync(join(outdir, 'index.mjs'))).toBe(true);
    expect(existsSync(join(outdir, 'models', 'manifest.json'))).toBe(true);

    local = await loadBundle(models);
    endpoint = buildModelServer({ bundle: await loadBundle(models), model: 'classifier' });
    endpoint.addHook('onRequest', async (request) => {
      if (request.method === 'POST') invocations++;
    });
    await endpoint.listen({ port: 0, host: '127.0.0.1' });
    const address = endpoint.server.address();
    const endpointUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

    redis = await startRedisServer();
    const admin = createClient({ url: redis.url });
    await admin.connect();
    await admin.configSet('requirepass', PASSWORD);
    await admin.quit().catch(() => {});

    kinesis = await startKinesalite();
    transport = await KinesisStreamTransport.connect({
      streamName: STREAM,
      endpoint: kinesis.endpoint,
      credentials: KINESALITE_CREDENTIALS,
      createIfMissing: true,
      shardCount: 1,
    });
    const liveFrom = Date.UTC(2018, 3, 1) + 50 * 86_400_000;
    live = smallWorld(52)
      .filter((t) => t.timestampMs >= liveFrom)
      .slice(0, 40);
    const payloads = live.map((t) => toNativeJson(t));
    payloads.splice(5, 0, MALFORMED[0]!);
    payloads.splice(17, 0, MALFORMED[1]!);
    const put = await transport.client.send(
      new PutRecordsCommand({
        StreamName: STREAM,
        Records: payloads.map((p, i) => ({ Data: Buffer.from(p, 'utf8'), PartitionKey: `pk-${i % 7}` })),
      }),
    );
    expect(put.FailedRecordCount ?? 0).toBe(0);
    event = await eventFromKinesalite(transport, payloads.length);

    // The lab's environment, and the bundle beside the code where the function looks by default.
    process.env.LAMBDA_TASK_ROOT = outdir;
    delete process.env.FRAUDSTREAM_MODELS;
    delete process.env.REDIS_URL;
    process.env.REDIS_HOST = '127.0.0.1';
    process.env.REDIS_PORT = String(redis.port);
    process.env.REDIS_PWD = PASSWORD;
    process.env.FRAUDSTREAM_PREFIX = prefix;
    process.env.FRAUDSTREAM_LOG_LEVEL = 'silent';
    process.env.FRAUDSTREAM_CLASSIFIER_ENDPOINT = endpointUrl;
    bundled = (await import(pathToFileURL(join(outdir, 'index.mjs')).href)) as BundledModule;
  });

  afterAll(async () => {
    await bundled?.closeLambda();
    await endpoint?.close();
    await transport?.close();
    await kinesis?.stop();
    await redis?.stop();
    process.env = savedEnv;
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('stores every good record scored through the endpoint (one call per event), dead-letters the malformed ones and asks for no retry; a redelivery stores nothing twice', async () => {
    const response = await bundled.handler(event);
    expect(response).toEqual({ batchItemFailures: [] });
    // One endpoint call for the event's whole batch.
    expect(invocations).toBe(1);

    const store = await RedisStore.connect({ url: `redis://:${PASSWORD}@127.0.0.1:${redis.port}`, prefix });
    try {
      expect(await store.countTransactions()).toBe(live.length);
      expect(await store.countDeadLetters()).toBe(MALFORMED.length);
      const letters = await store.recentDeadLetters(10);
      expect(letters.map((l) => l.payload).sort()).toEqual([...MALFORMED].sort());
      for (const record of event.Records) {
        const payload = Buffer.from(record.kinesis.data, 'base64').toString('utf8');
        if (MALFORMED.includes(payload)) continue;
        const id = (JSON.parse(payload) as { id: string }).id;
        // Native records are keyed by their id (record key mode `auto`).
        const stored = await store.getTransaction(id);
        expect(stored?.transaction.id).toBe(id);
        expect(stored?.fraudScore).toBeGreaterThanOrEqual(0);
        const row = local.manifest.featureNames.map((name) => stored!.features[name] ?? Number.NaN);
        expect(stored?.classifierProbability).toBe(local.gbdt.predictRowProba(row));
        expect(stored?.reasons.some((r) => r.name.startsWith('endpoint-unavailable'))).toBe(false);
      }
      expect(await bundled.handler(event)).toEqual({ batchItemFailures: [] });
      expect(invocations).toBe(2);
      expect(await store.countTransactions()).toBe(live.length);
    } finally {
      await store.close();
    }
  });
});

/** Reads the shard from its start and builds the event AWS Lambda would deliver for those records. */
async function eventFromKinesalite(
  transport: KinesisStreamTransport,
  expected: number,
): Promise<KinesisStreamEvent> {
  const { client } = transport;
  const shards = await client.send(new ListShardsCommand({ StreamName: STREAM }));
  const shardId = shards.Shards![0]!.ShardId!;
  const iterator = await client.send(
    new GetShardIteratorCommand({ StreamName: STREAM, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
  );
  const got = await client.send(
    new GetRecordsCommand({ ShardIterator: iterator.ShardIterator, Limit: 1000 }),
  );
  const records = got.Records ?? [];
  expect(records).toHaveLength(expected);
  const region = 'us-east-1';
  return {
    Records: records.map(
      (r): KinesisEventRecord => ({
        eventID: `${shardId}:${r.SequenceNumber}`,
        eventSource: 'aws:kinesis',
        eventSourceARN: `arn:aws:kinesis:${region}:000000000000:stream/${STREAM}`,
        kinesis: {
          data: Buffer.from(r.Data!).toString('base64'),
          partitionKey: r.PartitionKey!,
          sequenceNumber: r.SequenceNumber!,
          approximateArrivalTimestamp: r.ApproximateArrivalTimestamp!.getTime() / 1000,
          kinesisSchemaVersion: '1.0',
        },
      }),
    ),
  };
}
