/**
 * The fault matrix rows that no other suite covers (README → Redis → "Fault matrix" lists every
 * row and where it is tested). Each row runs the built CLI against real servers, injects one
 * fault while records flow, and checks the pipeline's promise: produced = stored + dead-lettered,
 * every record stored once (0 duplicates), and nothing left pending.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/store/index.js';
import {
  type CliProcess,
  connectRaw,
  killAllStarted,
  pendingCount,
  produceToRedis,
  type RawRedis,
  redisConsumeArgs,
  runCli,
  SMALL,
  startCli,
  storedPositions,
  trainSmallBundle,
  waitUntil,
} from '../helpers/cli.js';
import { KINESALITE_CREDENTIALS, type KinesaliteHandle, startKinesalite } from '../helpers/kinesalite.js';
import {
  type RedisServerHandle,
  randomKeyPrefix,
  skipWithoutRedis,
  startRedisServer,
} from '../helpers/redis-server.js';

const GROUP = 'fraudstream';
const shard0 = (stream: string): string => `${stream}:{s0}`;

/** Stored documents, dead letters of the store and of the transport for one prefix and stream. */
async function accounting(
  storeUrl: string,
  prefix: string,
  transport?: { raw: RawRedis; stream: string },
): Promise<{ stored: number; uniquePositions: number; deadLettered: number }> {
  const store = await RedisStore.connect({ url: storeUrl, prefix });
  const raw = await connectRaw(storeUrl);
  try {
    const positions = await storedPositions(raw, prefix);
    const transportDead = transport ? await transport.raw.xLen(`${transport.stream}:dead`) : 0;
    return {
      stored: await store.countTransactions(),
      uniquePositions: new Set(positions).size,
      deadLettered: (await store.countDeadLetters()) + transportDead,
    };
  } finally {
    await store.close();
    raw.destroy();
  }
}

/**
 * Waits until the consumer has stored all `n` records and left nothing pending, checks that every
 * record was stored once and none dead-lettered, then stops the consumer and expects a clean exit.
 */
async function expectStoredOnceAndStop(
  consumer: CliProcess,
  o: { streamUrl: string; storeUrl: string; stream: string; prefix: string; n: number },
): Promise<void> {
  await waitUntil(
    'every record stored',
    async () => {
      if (consumer.child.exitCode !== null) throw new Error(`consumer exited: ${consumer.stderr()}`);
      return (await accounting(o.storeUrl, o.prefix)).stored >= o.n;
    },
    90_000,
  );
  const raw = await connectRaw(o.streamUrl);
  try {
    await waitUntil('nothing pending', async () => (await pendingCount(raw, shard0(o.stream), GROUP)) === 0);
    expect(await accounting(o.storeUrl, o.prefix, { raw, stream: o.stream })).toEqual({
      stored: o.n,
      uniquePositions: o.n,
      deadLettered: 0,
    });
  } finally {
    raw.destroy();
  }
  consumer.signal('SIGTERM');
  expect((await consumer.exited).code, consumer.stderr()).toBe(0);
}

describe.skipIf(skipWithoutRedis())('fault matrix (CLI, real servers)', () => {
  let dir: string;
  let models: string;
  const servers: RedisServerHandle[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fraudstream-faults-'));
    models = join(dir, 'models');
    await trainSmallBundle(models);
  });
  afterEach(async () => {
    await killAllStarted();
    for (const s of servers.splice(0)) await s.stop();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function server(options: { appendOnly?: boolean } = {}): Promise<RedisServerHandle> {
    const s = await startRedisServer(options);
    servers.push(s);
    return s;
  }

  it('store Redis down for 10 s mid-stream: the consumer waits, then stores every record once, 0 dead letters', async () => {
    const HALF = 3_000;
    const streamServer = await server();
    const storeServer = await server({ appendOnly: true });
    const stream = randomKeyPrefix('fm-down').slice(0, -1);
    const prefix = randomKeyPrefix('fm-down');
    const first = await produceToRedis(streamServer.url, stream, HALF, ['--seed', '1']);
    expect(first.code, first.stderr).toBe(0);
    // Two producer runs reuse simulator ids, so records are keyed by stream position.
    const consumer = startCli(
      redisConsumeArgs(streamServer.url, stream, prefix, models, [
        ...['--store', storeServer.url, '--batch-size', '100', '--log-level', 'warn'],
        ...['--record-key', 'id@position'],
      ]),
    );
    const stored = async (): Promise<number> => {
      if (consumer.child.exitCode !== null) throw new Error(`consumer exited: ${consumer.stderr()}`);
      return (await accounting(storeServer.url, prefix)).stored;
    };
    await waitUntil('the consumer to be under way', async () => (await stored()) >= 500, 60_000);
    // The second half arrives while the store is down, so the consumer surely meets the outage.
    const outage = storeServer.restart({ downMs: 10_000 });
    const second = await produceToRedis(streamServer.url, stream, HALF, ['--seed', '2']);
    expect(second.code, second.stderr).toBe(0);
    await outage;
    expect(consumer.child.exitCode, consumer.stderr()).toBeNull();
    // The outage was seen and waited out (an error line per retry), not dead-lettered.
    expect(consumer.stderr()).toMatch(/"level":50/);

    await expectStoredOnceAndStop(consumer, {
      streamUrl: streamServer.url,
      storeUrl: storeServer.url,
      stream,
      prefix,
      n: 2 * HALF,
    });
  }, 180_000);

  it('slow consumer (frozen while the producer runs on): the stream holds the backlog, every record stored once', async () => {
    const N = 8_000;
    const s = await server();
    const stream = randomKeyPrefix('fm-slow').slice(0, -1);
    const prefix = randomKeyPrefix('fm-slow');
    const consumer = startCli(
      redisConsumeArgs(s.url, stream, prefix, models, ['--batch-size', '100', '--log-level', 'warn']),
    );
    const producing = produceToRedis(s.url, stream, N, ['--rate', '4000']);
    await waitUntil('the consumer to be under way', async () => (await accounting(s.url, prefix)).stored > 0);
    consumer.signal('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    consumer.signal('SIGCONT');
    const produced = await producing;
    expect(produced.code, produced.stderr).toBe(0);
    await expectStoredOnceAndStop(consumer, { streamUrl: s.url, storeUrl: s.url, stream, prefix, n: N });
  }, 120_000);

  it('hot reload mid-stream: a retrained bundle is picked up while records flow, every record stored once', async () => {
    const N = 6_000;
    const s = await server();
    const stream = randomKeyPrefix('fm-reload').slice(0, -1);
    const prefix = randomKeyPrefix('fm-reload');
    const reloadModels = join(dir, 'models-reload');
    await trainSmallBundle(reloadModels);
    const produced = await produceToRedis(s.url, stream, N);
    expect(produced.code, produced.stderr).toBe(0);
    const consumer = startCli(
      redisConsumeArgs(s.url, stream, prefix, reloadModels, ['--batch-size', '50', '--log-level', 'info']),
    );
    await waitUntil(
      'the consumer to be under way',
      async () => (await accounting(s.url, prefix)).stored >= 300,
    );
    const retrain = await runCli([
      'train',
      ...SMALL,
      ...['--train-from', '2018-05-12', '--train-to', '2018-05-22', '--trees', '15', '--rcf-trees', '5'],
      ...['--out', reloadModels],
    ]);
    expect(retrain.code, retrain.stderr).toBe(0);
    await waitUntil('the reload', () => consumer.stderr().includes('model bundle reloaded'), 30_000);
    await expectStoredOnceAndStop(consumer, { streamUrl: s.url, storeUrl: s.url, stream, prefix, n: N });
  }, 120_000);

  describe('Kinesis endpoint errors', () => {
    let kinesis: KinesaliteHandle;
    let proxy: Server | undefined;
    beforeAll(async () => {
      kinesis = await startKinesalite();
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
      proxy?.closeAllConnections();
      await kinesis?.stop();
    });

    it('500s and dropped connections from the endpoint: the consumer retries, every record stored once', async () => {
      const N = 1_500;
      const env = {
        AWS_ACCESS_KEY_ID: KINESALITE_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: KINESALITE_CREDENTIALS.secretAccessKey,
        AWS_REGION: 'us-east-1',
        KINESIS_ENDPOINT: kinesis.endpoint,
      };
      const produced = await runCli(
        [
          'produce',
          ...['--source', 'simulator', ...SMALL, '--days', '60', '--count', String(N)],
          ...['--to', 'kinesis://faults', '--create-stream', '--shards', '2'],
        ],
        env,
      );
      expect(produced.code, produced.stderr).toBe(0);

      // A faulty endpoint in front of kinesalite: every 4th request answers 500 InternalFailure,
      // every 7th loses its connection; the rest pass through unchanged.
      let requests = 0;
      let injected = 0;
      const target = new URL(kinesis.endpoint);
      proxy = createServer((req, res) => {
        requests++;
        if (requests % 7 === 0) {
          injected++;
          req.socket.destroy();
          return;
        }
        if (requests % 4 === 0) {
          injected++;
          req.resume();
          res.writeHead(500, {
            'content-type': 'application/x-amz-json-1.1',
            'x-amzn-errortype': 'InternalFailure',
          });
          res.end(JSON.stringify({ __type: 'InternalFailure', message: 'injected by the fault matrix' }));
          return;
        }
        const upstream = request(
          {
            host: target.hostname,
            port: target.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        upstream.on('error', () => res.destroy());
        req.pipe(upstream);
      });
      await new Promise<void>((resolve) => proxy!.listen(0, '127.0.0.1', resolve));
      const { port } = proxy.address() as AddressInfo;

      const s = await server();
      const prefix = randomKeyPrefix('fm-kinesis');
      const consumer = startCli(
        [
          'consume',
          ...['--from', 'kinesis://faults', '--store', s.url, '--prefix', prefix, '--models', models],
          ...['--batch-size', '100', '--log-level', 'warn'],
        ],
        { ...env, KINESIS_ENDPOINT: `http://127.0.0.1:${port}` },
      );
      const stored = async (): Promise<number> => {
        if (consumer.child.exitCode !== null) throw new Error(`consumer exited: ${consumer.stderr()}`);
        return (await accounting(s.url, prefix)).stored;
      };
      await waitUntil('every record stored', async () => (await stored()) >= N, 90_000);
      expect(injected, 'no fault was injected').toBeGreaterThan(0);
      expect(await accounting(s.url, prefix)).toEqual({ stored: N, uniquePositions: N, deadLettered: 0 });
      consumer.signal('SIGTERM');
      expect((await consumer.exited).code, consumer.stderr()).toBe(0);
    }, 150_000);
  });
});
