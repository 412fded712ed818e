import { createClient } from 'redis';
import { Random } from '../src/random/index.js';
import {
  openRedisStreamReader,
  openRedisStreamWriter,
  type RedisStreamOptions,
  redisShardKey,
} from '../src/transports/redis/index.js';
import type { OutgoingRecord } from '../src/transports/types.js';
import { randomKeyPrefix, startRedisServer } from '../test/helpers/redis-server.js';

/**
 * Throughput of the Redis Streams transport against a private redis-server: publishes N records
 * in batches (pipelined XADD, and again in script mode) and reads + acknowledges them with one consumer, then writes the
 * same records one awaited XADD at a time (what the reference lab's Lambda does per record) as
 * the baseline of the same run.
 * Flags: `--records N` (200000), `--batch N` (500), `--shards N` (1), `--baseline-records N` (= records), `--seed N` (42).
 */
export async function main(args: string[]): Promise<void> {
  const settings = { records: 200_000, batch: 500, shards: 1, baselineRecords: -1, seed: 42 };
  for (let i = 0; i < args.length; i += 2) {
    const value = Number(args[i + 1]);
    switch (args[i]) {
      case '--records':
        settings.records = value;
        break;
      case '--batch':
        settings.batch = value;
        break;
      case '--shards':
        settings.shards = value;
        break;
      case '--baseline-records':
        settings.baselineRecords = value;
        break;
      case '--seed':
        settings.seed = value;
        break;
      default:
        throw new Error(`unknown flag ${String(args[i])}`);
    }
  }
  if (settings.baselineRecords < 0) settings.baselineRecords = settings.records;
  const records = makeRecords(settings.records, settings.seed);
  const payloadBytes = records.reduce((sum, r) => sum + r.payload.length, 0) / records.length;
  console.log(
    'redis-transport bench settings',
    JSON.stringify({ ...settings, meanPayloadBytes: payloadBytes }),
  );

  const server = await startRedisServer();
  try {
    const stream = `${randomKeyPrefix('bench')}tx`;
    const options = { url: server.url, stream, shards: settings.shards, consumer: 'bench' };

    const publishSeconds = await publishAll(options, 'pipeline', records, settings.batch);
    const scriptOptions = { ...options, stream: `${randomKeyPrefix('bench')}tx` };
    const scriptSeconds = await publishAll(scriptOptions, 'script', records, settings.batch);

    const reader = await openRedisStreamReader(options, { maxBatch: settings.batch, maxWaitMs: 50 });
    let started = process.hrtime.bigint();
    let read = 0;
    for await (const batch of reader) {
      if (batch.length === 0) continue;
      await reader.ack(batch);
      read += batch.length;
      if (read >= records.length) break;
    }
    const readSeconds = seconds(started);
    await reader.close();

    const baselineStream = redisShardKey(`${randomKeyPrefix('bench')}baseline`, 0);
    const client = createClient({ url: server.url });
    await client.connect();
    started = process.hrtime.bigint();
    const n = Math.min(settings.baselineRecords, records.length);
    for (let i = 0; i < n; i++) {
      await client.sendCommand([
        'XADD',
        baselineStream,
        '*',
        'p',
        records[i]!.payload,
        't',
        String(Date.now()),
      ]);
    }
    const baselineSeconds = seconds(started);
    await client.close();

    const publishRate = records.length / publishSeconds;
    const readRate = read / readSeconds;
    const baselineRate = n / baselineSeconds;
    const scriptRate = records.length / scriptSeconds;
    console.log(
      `publish, pipeline mode (one XADD per record, batches of ${settings.batch}): ${rate(records.length, publishSeconds)}`,
    );
    console.log(
      `publish, script mode (one script call per batch of ${settings.batch}): ${rate(records.length, scriptSeconds)}`,
    );
    console.log(
      `read + ack (XREADGROUP COUNT ${settings.batch}, XACK per batch): ${rate(read, readSeconds)}`,
    );
    console.log(`baseline publish (one awaited XADD per record): ${rate(n, baselineSeconds)}`);
    console.log(
      `publish vs baseline: pipeline ${(publishRate / baselineRate).toFixed(1)}x, script ${(scriptRate / baselineRate).toFixed(1)}x`,
    );
    console.log(`read + ack vs baseline publish: ${(readRate / baselineRate).toFixed(1)}x`);
  } finally {
    await server.stop();
  }
}

/** Publishes all records in batches with one writer; returns the seconds taken. */
async function publishAll(
  options: RedisStreamOptions,
  publishMode: 'pipeline' | 'script',
  records: readonly OutgoingRecord[],
  batch: number,
): Promise<number> {
  const writer = await openRedisStreamWriter({ ...options, publishMode });
  const started = process.hrtime.bigint();
  for (let i = 0; i < records.length; i += batch) await writer.publish(records.slice(i, i + batch));
  const taken = seconds(started);
  await writer.close();
  return taken;
}

function seconds(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function rate(n: number, s: number): string {
  return `${n} records in ${s.toFixed(2)} s = ${Math.round(n / s)} records/s`;
}

/** Lab-envelope-like payloads (30 numbers, timestamp, id, channel) over 10,000 cards. */
function makeRecords(n: number, seed: number): OutgoingRecord[] {
  const random = new Random(seed);
  const channels = ['Web', 'Mobile', 'Store'] as const;
  const out: OutgoingRecord[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const values: string[] = [String(i)];
    for (let v = 0; v < 28; v++) values.push(random.normal().toFixed(6));
    values.push(random.uniform(1, 500).toFixed(2));
    const card = `card-${random.int(10_000)}`;
    const payload = JSON.stringify({
      data: values.join(','),
      metadata: ['2026-01-01 00:00:00', card, channels[random.int(3)]],
    });
    out[i] = { partitionKey: card, payload };
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
