import {
  GetRecordsCommand,
  KinesisClient,
  PutRecordsCommand,
  type PutRecordsCommandOutput,
  type PutRecordsRequestEntry,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, PoisonRecordError, TransientStoreError } from '../../src/errors/index.js';
import {
  compareSequenceNumbers,
  type KinesisCheckpointStore,
  KinesisStreamTransport,
  type KinesisTransportOptions,
  resolveKinesisTransportOptions,
} from '../../src/transports/kinesis/index.js';
import type { DeliveredRecord, StreamReader } from '../../src/transports/types.js';
import { KINESALITE_CREDENTIALS, type KinesaliteHandle, startKinesalite } from '../helpers/kinesalite.js';

let kinesalite: KinesaliteHandle;
let streams = 0;

beforeAll(async () => {
  kinesalite = await startKinesalite();
});
afterAll(async () => {
  await kinesalite?.stop();
});

/** Options for a fresh stream on this suite's kinesalite, polling fast (an emulator has no read limit). */
function local(extra: Partial<KinesisTransportOptions> = {}): KinesisTransportOptions {
  return {
    streamName: `test-${process.pid}-${++streams}`,
    endpoint: kinesalite.endpoint,
    region: 'us-east-1',
    credentials: KINESALITE_CREDENTIALS,
    createIfMissing: true,
    pollIntervalMs: 2,
    retryBaseMs: 1,
    ...extra,
  };
}

function localClient(): KinesisClient {
  return new KinesisClient({
    endpoint: kinesalite.endpoint,
    region: 'us-east-1',
    credentials: KINESALITE_CREDENTIALS,
    requestHandler: new NodeHttpHandler(),
  });
}

/** Reads batches until `count` records arrived or `maxEmpty` empty batches in a row (then the test's expectations fail). */
async function readRecords(reader: StreamReader, count: number, maxEmpty = 200): Promise<DeliveredRecord[]> {
  const out: DeliveredRecord[] = [];
  let empty = 0;
  const iterator = reader[Symbol.asyncIterator]();
  while (out.length < count && empty < maxEmpty) {
    const next = await iterator.next();
    if (next.done) break;
    if (next.value.length === 0) empty++;
    else empty = 0;
    out.push(...next.value);
  }
  await iterator.return?.();
  return out;
}

type Send = (command: unknown, options?: unknown) => Promise<unknown>;

/** Records every PutRecords request the client sends; `intercept` may replace the call. */
function spyPutRecords(
  client: KinesisClient,
  intercept?: (entries: PutRecordsRequestEntry[], call: number, send: Send) => Promise<unknown> | undefined,
): PutRecordsRequestEntry[][] {
  const calls: PutRecordsRequestEntry[][] = [];
  const send = client.send.bind(client) as Send;
  client.send = (async (command: unknown, options?: unknown) => {
    if (command instanceof PutRecordsCommand) {
      const entries = command.input.Records ?? [];
      calls.push(entries);
      const replaced = intercept?.(entries, calls.length, send);
      if (replaced) return replaced;
    }
    return send(command, options);
  }) as typeof client.send;
  return calls;
}

const text = (data: Uint8Array | undefined): string => new TextDecoder().decode(data);

describe('resolveKinesisTransportOptions', () => {
  it('applies defaults and rejects invalid options with ConfigError', () => {
    const saved = process.env.AWS_REGION;
    try {
      process.env.AWS_REGION = 'eu-west-3';
      const resolved = resolveKinesisTransportOptions({ streamName: 'demo-stream' });
      expect(resolved).toMatchObject({
        region: 'eu-west-3',
        shardCount: 1,
        maxRetries: 5,
        startFrom: 'trim-horizon',
        pollIntervalMs: 200,
        createIfMissing: false,
      });
      delete process.env.AWS_REGION;
      expect(resolveKinesisTransportOptions({ streamName: 'demo-stream' }).region).toBe('us-east-1');
    } finally {
      if (saved === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = saved;
    }
    expect(() => resolveKinesisTransportOptions({ streamName: '' })).toThrow(ConfigError);
    expect(() => resolveKinesisTransportOptions({ streamName: 'a b' })).toThrow(ConfigError);
    expect(() => resolveKinesisTransportOptions({ streamName: 's', shardCount: 0 })).toThrow(ConfigError);
    expect(() => resolveKinesisTransportOptions({ streamName: 's', maxRetries: -1 })).toThrow(ConfigError);
    expect(() => resolveKinesisTransportOptions({ streamName: 's', endpoint: 'not a url' })).toThrow(
      ConfigError,
    );
    expect(() =>
      resolveKinesisTransportOptions({ streamName: 's', startFrom: 'oldest' as unknown as 'latest' }),
    ).toThrow(ConfigError);
    // Credentials are passed to the client only, never kept where they could be logged.
    const withSecret = resolveKinesisTransportOptions({
      streamName: 's',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'very-secret' },
    });
    expect(JSON.stringify(withSecret)).not.toContain('very-secret');
  });

  it('orders sequence numbers numerically', () => {
    expect(compareSequenceNumbers('9', '10')).toBeLessThan(0);
    expect(
      compareSequenceNumbers(
        '4968055394611701221800093032852818757',
        '4968055394611701221800093032852818756',
      ),
    ).toBeGreaterThan(0);
    expect(compareSequenceNumbers('123', '123')).toBe(0);
  });
});

describe('KinesisStreamTransport against kinesalite', () => {
  it('keeps per-partition-key order and spreads keys over shards', async () => {
    const transport = await KinesisStreamTransport.connect(local({ shardCount: 4 }));
    try {
      const cards = 40;
      const perCard = 25;
      const records = [];
      for (let i = 0; i < perCard; i++) {
        for (let c = 0; c < cards; c++)
          records.push({ payload: JSON.stringify({ c, i }), partitionKey: `card-${c}` });
      }
      const before = Date.now();
      await transport.writer().publish(records);
      const reader = transport.reader({ maxBatch: 300, maxWaitMs: 20 });
      const delivered = await readRecords(reader, records.length);
      await reader.close();

      expect(delivered).toHaveLength(records.length);
      const next = new Array<number>(cards).fill(0);
      const shardOfCard = new Map<number, string>();
      for (const record of delivered) {
        const { c, i } = JSON.parse(record.payload) as { c: number; i: number };
        expect(i).toBe(next[c]);
        next[c] = i + 1;
        const shard = record.position.split('/')[0]!;
        expect(shardOfCard.get(c) ?? shard).toBe(shard);
        shardOfCard.set(c, shard);
        expect(record.deliveries).toBe(1);
        expect(record.enqueuedAtMs).toBeGreaterThanOrEqual(before - 1_000);
        expect(record.enqueuedAtMs).toBeLessThanOrEqual(Date.now() + 1_000);
      }
      expect(new Set(delivered.map((r) => r.position)).size).toBe(records.length);
      expect(new Set(shardOfCard.values()).size).toBeGreaterThan(1);
    } finally {
      await transport.close();
    }
  });

  it('sends PutRecords requests of at most 500 records and 5 MiB, and refuses records over 1 MiB', async () => {
    const client = localClient();
    const transport = await KinesisStreamTransport.connect(local({ client }));
    try {
      const calls = spyPutRecords(client);
      const writer = transport.writer();
      await writer.publish(
        Array.from({ length: 1_200 }, (_, i) => ({ payload: `r${i}`, partitionKey: `k${i % 7}` })),
      );
      expect(calls.map((c) => c.length)).toEqual([500, 500, 200]);

      calls.length = 0;
      const big = 'x'.repeat(600 * 1024);
      await writer.publish(
        Array.from({ length: 10 }, (_, i) => ({ payload: `${i}${big}`, partitionKey: 'k' })),
      );
      expect(calls.flat()).toHaveLength(10);
      expect(calls.length).toBeGreaterThan(1);
      for (const call of calls) {
        const bytes = call.reduce(
          (sum, e) => sum + (e.Data?.byteLength ?? 0) + (e.PartitionKey?.length ?? 0),
          0,
        );
        expect(bytes).toBeLessThanOrEqual(5 * 1024 * 1024);
      }

      calls.length = 0;
      await expect(
        writer.publish([
          { payload: 'fine', partitionKey: 'k' },
          { payload: 'y'.repeat(1024 * 1024), partitionKey: 'k' },
        ]),
      ).rejects.toThrow(PoisonRecordError);
      expect(calls).toHaveLength(0);
    } finally {
      await transport.close();
      client.destroy();
    }
  });

  it('retries only the entries that failed in a partial PutRecords failure, and loses none', async () => {
    const client = localClient();
    const transport = await KinesisStreamTransport.connect(local({ client, shardCount: 2 }));
    const failing = new Set([3, 7, 11]);
    try {
      // The first response reports three entries throttled, as Kinesis does for a hot shard:
      // they are not written, the others are.
      const calls = spyPutRecords(client, (entries, call, send) => {
        if (call !== 1) return undefined;
        return (async () => {
          const kept = entries.filter((_, i) => !failing.has(i));
          const real = (await send(
            new PutRecordsCommand({ StreamName: transport.options.streamName, Records: kept }),
          )) as PutRecordsCommandOutput;
          const written = [...(real.Records ?? [])];
          return {
            ...real,
            FailedRecordCount: failing.size,
            Records: entries.map((_, i) =>
              failing.has(i)
                ? {
                    ErrorCode: 'ProvisionedThroughputExceededException',
                    ErrorMessage:
                      'Rate exceeded for shard shardId-000000000000 in stream under account 000000000000.',
                  }
                : written.shift()!,
            ),
          } satisfies PutRecordsCommandOutput;
        })();
      });
      const records = Array.from({ length: 20 }, (_, i) => ({ payload: `p${i}`, partitionKey: `card-${i}` }));
      await transport.writer().publish(records);

      expect(calls).toHaveLength(2);
      expect(calls[1]!.map((e) => text(e.Data))).toEqual(['p3', 'p7', 'p11']);
      const reader = transport.reader({ maxWaitMs: 20 });
      const delivered = await readRecords(reader, records.length, 20);
      expect(delivered.map((r) => r.payload).sort()).toEqual(records.map((r) => r.payload).sort());
    } finally {
      await transport.close();
      client.destroy();
    }
  });

  it('rejects with TransientStoreError when entries still fail after maxRetries', async () => {
    const client = localClient();
    const transport = await KinesisStreamTransport.connect(local({ client, maxRetries: 2 }));
    try {
      const calls = spyPutRecords(client, (entries) =>
        Promise.resolve({
          $metadata: { httpStatusCode: 200 },
          FailedRecordCount: entries.length,
          Records: entries.map(() => ({
            ErrorCode: 'InternalFailure',
            ErrorMessage: 'Internal service failure.',
          })),
        } satisfies PutRecordsCommandOutput),
      );
      const publishing = transport.writer().publish([{ payload: 'a', partitionKey: 'k' }]);
      await expect(publishing).rejects.toThrow(TransientStoreError);
      await expect(publishing).rejects.toThrow(/InternalFailure/);
      expect(calls).toHaveLength(3);
    } finally {
      await transport.close();
      client.destroy();
    }
  });

  it('checkpoints the highest contiguous acknowledged record and resumes after it on restart', async () => {
    const saved = new Map<string, string>();
    const saves: [string, string][] = [];
    const checkpointStore: KinesisCheckpointStore = {
      async load(shardId) {
        return saved.get(shardId);
      },
      async save(shardId, sequenceNumber) {
        saves.push([shardId, sequenceNumber]);
        saved.set(shardId, sequenceNumber);
      },
    };
    const options = local({ checkpointStore });
    const first = await KinesisStreamTransport.connect(options);
    let records: DeliveredRecord[];
    try {
      await first
        .writer()
        .publish(Array.from({ length: 30 }, (_, i) => ({ payload: `p${i}`, partitionKey: 'card' })));
      const reader = first.reader({ maxBatch: 8, maxWaitMs: 20 });
      records = await readRecords(reader, 30);
      expect(records.map((r) => r.payload)).toEqual(Array.from({ length: 30 }, (_, i) => `p${i}`));
      const shardId = records[0]!.position.split('/')[0]!;
      const seq = (i: number): string => records[i]!.position.split('/')[1]!;

      await reader.ack(records.slice(15, 20));
      expect(reader.checkpoints()).toEqual({});
      await reader.ack(records.slice(0, 10));
      expect(reader.checkpoints()).toEqual({ [shardId]: seq(9) });
      expect(saved.get(shardId)).toBe(seq(9));
      // Acknowledging the gap joins the run acknowledged earlier.
      await reader.ack(records.slice(10, 15));
      expect(reader.checkpoints()).toEqual({ [shardId]: seq(19) });
      expect(saved.get(shardId)).toBe(seq(19));
      await reader.close();
    } finally {
      await first.close();
    }
    // Saves went forward only.
    for (let i = 1; i < saves.length; i++) {
      expect(compareSequenceNumbers(saves[i]![1], saves[i - 1]![1])).toBeGreaterThan(0);
    }

    const second = await KinesisStreamTransport.connect(options);
    try {
      const reader = second.reader({ maxWaitMs: 20 });
      const again = await readRecords(reader, 10, 20);
      expect(again.map((r) => r.payload)).toEqual(Array.from({ length: 10 }, (_, i) => `p${20 + i}`));
      expect(again.map((r) => r.position)).toEqual(records.slice(20).map((r) => r.position));
      await reader.close();
    } finally {
      await second.close();
    }
  });

  it('redelivers released records (and the later unacknowledged ones of the shard) with a higher delivery count', async () => {
    const transport = await KinesisStreamTransport.connect(local());
    try {
      await transport
        .writer()
        .publish(Array.from({ length: 10 }, (_, i) => ({ payload: `p${i}`, partitionKey: 'card' })));
      const reader = transport.reader({ maxWaitMs: 20 });
      const iterator = reader[Symbol.asyncIterator]();
      const firstRound: DeliveredRecord[] = [];
      while (firstRound.length < 10) {
        const next = await iterator.next();
        if (next.done) break;
        firstRound.push(...next.value);
      }
      expect(firstRound.map((r) => r.payload)).toEqual(Array.from({ length: 10 }, (_, i) => `p${i}`));

      await reader.ack(firstRound.slice(0, 3));
      await reader.ack([firstRound[8]!]);
      await reader.release([firstRound[6]!, firstRound[5]!]);

      const secondRound: DeliveredRecord[] = [];
      for (let empty = 0; secondRound.length < 4 && empty < 50; ) {
        const next = await iterator.next();
        if (next.done) break;
        if (next.value.length === 0) empty++;
        secondRound.push(...next.value);
      }
      // From the earliest released record on, except p8 which was acknowledged before the rewind.
      expect(secondRound.map((r) => r.payload)).toEqual(['p5', 'p6', 'p7', 'p9']);
      expect(secondRound.map((r) => r.deliveries)).toEqual([2, 2, 2, 2]);
      expect(secondRound.map((r) => r.position)).toEqual([5, 6, 7, 9].map((i) => firstRound[i]!.position));

      await reader.ack([...firstRound.slice(3, 5), ...secondRound]);
      const shardId = firstRound[0]!.position.split('/')[0]!;
      expect(reader.checkpoints()).toEqual({ [shardId]: firstRound[9]!.position.split('/')[1] });
      await iterator.return?.();
      await reader.close();
    } finally {
      await transport.close();
    }
  });

  it('starts at the latest record with startFrom latest', async () => {
    const transport = await KinesisStreamTransport.connect(local({ startFrom: 'latest' }));
    try {
      const writer = transport.writer();
      await writer.publish([{ payload: 'old', partitionKey: 'k' }]);
      const reader = transport.reader({ maxWaitMs: 5 });
      const iterator = reader[Symbol.asyncIterator]();
      // The first (empty) batch places the iterators at the end of the shards.
      expect((await iterator.next()).value).toEqual([]);
      await writer.publish([{ payload: 'new', partitionKey: 'k' }]);
      const seen: string[] = [];
      for (let round = 0; seen.length === 0 && round < 100; round++) {
        const next = await iterator.next();
        if (next.done) break;
        seen.push(...next.value.map((r) => r.payload));
      }
      expect(seen).toEqual(['new']);
      await reader.close();
    } finally {
      await transport.close();
    }
  });

  it('backs off from a throttled shard and fails with TransientStoreError once retries are exhausted', async () => {
    const client = localClient();
    const transport = await KinesisStreamTransport.connect(local({ client, maxRetries: 3 }));
    try {
      await transport.writer().publish([{ payload: 'a', partitionKey: 'k' }]);
      let throttle = 2;
      let getRecordsCalls = 0;
      const send = client.send.bind(client) as Send;
      client.send = (async (command: unknown, options?: unknown) => {
        if (command instanceof GetRecordsCommand) {
          getRecordsCalls++;
          if (throttle-- > 0) {
            const error = new Error('Rate exceeded for shard shardId-000000000000');
            error.name = 'ProvisionedThroughputExceededException';
            throw error;
          }
        }
        return send(command, options);
      }) as typeof client.send;

      const reader = transport.reader({ maxWaitMs: 20 });
      const delivered = await readRecords(reader, 1, 50);
      expect(delivered.map((r) => r.payload)).toEqual(['a']);
      expect(getRecordsCalls).toBe(3);
      await reader.close();

      throttle = Number.POSITIVE_INFINITY;
      const stuck = transport.reader({ maxWaitMs: 20 });
      await expect(readRecords(stuck, 1, 1_000)).rejects.toThrow(TransientStoreError);
      await stuck.close();
    } finally {
      await transport.close();
      client.destroy();
    }
  });

  it('close() ends an iteration that is waiting for records', async () => {
    const transport = await KinesisStreamTransport.connect(local({ pollIntervalMs: 200 }));
    try {
      // Waits up to ten minutes for a record that never comes, unless close() interrupts it.
      const reader = transport.reader({ maxWaitMs: 600_000 });
      const iterator = reader[Symbol.asyncIterator]();
      const pending = iterator.next();
      await new Promise((resolve) => setTimeout(resolve, 50));
      await reader.close();
      await expect(pending).resolves.toEqual({ done: true, value: undefined });
      await reader.close();
    } finally {
      await transport.close();
    }
  });
});
