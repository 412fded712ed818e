import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import { Random } from '../src/random/index.js';
import { KinesisStreamTransport, type KinesisTransportOptions } from '../src/transports/kinesis/index.js';
import type { OutgoingRecord } from '../src/transports/types.js';
import { KINESALITE_CREDENTIALS, startKinesalite } from '../test/helpers/kinesalite.js';

/**
 * Throughput of the Kinesis transport against kinesalite, an in-process emulator of the Kinesis
 * API (so this measures the client side and HTTP round trips, not AWS: real Kinesis adds
 * network latency and per-shard limits of 1,000 records/s written and 5 reads/s).
 *
 * Publishes N records with the writer (PutRecords, batches of up to 500) and reads + acknowledges
 * them with one reader; then, as the baseline of the same run, publishes the same records with one
 * awaited PutRecord per record (what the reference lab's producer does) into a second stream and
 * reads those back the same way. Prints both and the ratios.
 * Flags: `--records N` (20000), `--batch N` (500), `--shards N` (2), `--seed N` (42).
 */
export async function main(args: string[]): Promise<void> {
  const settings = { records: 20_000, batch: 500, shards: 2, seed: 42 };
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
      case '--seed':
        settings.seed = value;
        break;
      default:
        throw new Error(`unknown flag ${String(args[i])}`);
    }
  }
  const records = makeRecords(settings.records, settings.seed);
  const meanPayloadBytes = Math.round(records.reduce((sum, r) => sum + r.payload.length, 0) / records.length);
  console.log(
    'kinesis-transport bench settings',
    JSON.stringify({ ...settings, meanPayloadBytes, server: 'kinesalite (local emulator, not AWS)' }),
  );

  const kinesalite = await startKinesalite();
  try {
    const options = (streamName: string): KinesisTransportOptions => ({
      streamName,
      endpoint: kinesalite.endpoint,
      region: 'us-east-1',
      credentials: KINESALITE_CREDENTIALS,
      createIfMissing: true,
      shardCount: settings.shards,
      // The emulator has no read limit; on AWS keep the default 200 ms.
      pollIntervalMs: 0,
    });

    const batched = await KinesisStreamTransport.connect(options('bench-batched'));
    let started = process.hrtime.bigint();
    const writer = batched.writer();
    for (let i = 0; i < records.length; i += settings.batch) {
      await writer.publish(records.slice(i, i + settings.batch));
    }
    const publishSeconds = seconds(started);
    const read = await readAll(batched, records.length, settings.batch);
    await batched.close();

    const baseline = await KinesisStreamTransport.connect(options('bench-one-by-one'));
    started = process.hrtime.bigint();
    const encoder = new TextEncoder();
    for (const record of records) {
      await baseline.client.send(
        new PutRecordCommand({
          StreamName: 'bench-one-by-one',
          Data: encoder.encode(record.payload),
          PartitionKey: record.partitionKey,
        }),
      );
    }
    const baselinePublishSeconds = seconds(started);
    const baselineRead = await readAll(baseline, records.length, settings.batch);
    await baseline.close();

    const n = records.length;
    console.log(`publish, PutRecords in batches of ${settings.batch}: ${rate(n, publishSeconds)}`);
    console.log(
      `read + ack (GetRecords up to ${settings.batch}, checkpoint per batch): ${rate(read.count, read.seconds)}`,
    );
    console.log(`baseline publish, one awaited PutRecord per record: ${rate(n, baselinePublishSeconds)}`);
    console.log(`baseline stream read + ack: ${rate(baselineRead.count, baselineRead.seconds)}`);
    console.log(`publish vs baseline: ${(baselinePublishSeconds / publishSeconds).toFixed(1)}x`);
    console.log(
      `publish + read vs baseline publish + read: ${((baselinePublishSeconds + baselineRead.seconds) / (publishSeconds + read.seconds)).toFixed(1)}x`,
    );
    if (read.count !== n || baselineRead.count !== n) {
      throw new Error(
        `expected ${n} records read from each stream, got ${read.count} and ${baselineRead.count}`,
      );
    }
  } finally {
    await kinesalite.stop();
  }
}

/** Reads and acknowledges `expected` records (distinct positions); gives up after 200 empty batches in a row. */
async function readAll(
  transport: KinesisStreamTransport,
  expected: number,
  maxBatch: number,
): Promise<{ count: number; seconds: number }> {
  const reader = transport.reader({ maxBatch, maxWaitMs: 50 });
  const seen = new Set<string>();
  const started = process.hrtime.bigint();
  let empty = 0;
  for await (const batch of reader) {
    if (batch.length === 0) {
      if (++empty >= 200) break;
      continue;
    }
    empty = 0;
    await reader.ack(batch);
    for (const record of batch) seen.add(record.position);
    if (seen.size >= expected) break;
  }
  const taken = seconds(started);
  await reader.close();
  return { count: seen.size, seconds: taken };
}

function seconds(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function rate(n: number, s: number): string {
  return `${n} records in ${s.toFixed(2)} s = ${Math.round(n / s)} records/s`;
}

/** Lab-envelope payloads (30 numbers, timestamp, card, channel) over 10,000 cards, card = partition key. */
function makeRecords(n: number, seed: number): OutgoingRecord[] {
  const random = new Random(seed);
  const channels = ['Web', 'Mobile', 'Store'] as const;
  const out: OutgoingRecord[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const values: string[] = [String(i)];
    for (let v = 0; v < 28; v++) values.push(random.normal().toFixed(6));
    values.push(random.uniform(1, 500).toFixed(2));
    const card = `card-${random.int(10_000)}`;
    out[i] = {
      partitionKey: card,
      payload: JSON.stringify({
        data: values.join(','),
        metadata: ['2026-01-01 00:00:00', card, channels[random.int(3)]],
      }),
    };
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
