import { createHash } from 'node:crypto';
import { ClientClosedError, createClient, ErrorReply, SocketClosedUnexpectedlyError } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, FraudstreamError } from '../../src/errors/index.js';
import {
  isTransientRedisError,
  openRedisStreamReader,
  openRedisStreamWriter,
  type RedisStreamOptions,
  type RedisStreamReader,
  RedisStreamTransport,
  redactRedisUrl,
  redisShardKey,
  resolveRedisStreamOptions,
  shardOf,
} from '../../src/transports/redis/index.js';
import type { DeliveredRecord, OutgoingRecord } from '../../src/transports/types.js';
import {
  type RedisServerHandle,
  randomKeyPrefix,
  skipWithoutRedis,
  startRedisServer,
} from '../helpers/redis-server.js';

describe('resolveRedisStreamOptions', () => {
  it('applies documented defaults and hash-tags shard keys', () => {
    const o = resolveRedisStreamOptions({ shards: 3 });
    expect(o.stream).toBe('fraudstream:tx');
    expect(o.group).toBe('fraudstream');
    expect(o.startFrom).toBe('0');
    expect(o.claimIdleMs).toBe(30_000);
    expect(o.maxDeliveries).toBe(5);
    expect(o.deadLetterStream).toBe('fraudstream:tx:dead');
    expect(o.shardKeys).toEqual(['fraudstream:tx:{s0}', 'fraudstream:tx:{s1}', 'fraudstream:tx:{s2}']);
    expect(o.consumer).toContain(String(process.pid));
  });

  it.each([
    { shards: 0 },
    { shards: 1.5 },
    { maxDeliveries: 0 },
    { claimIdleMs: -1 },
    { maxLen: 10, minIdMs: 1000 },
    { stream: '' },
    { startFrom: 'x' as '$' },
    { url: 'redis://a', cluster: { rootNodes: [{ url: 'redis://b' }] } },
  ] satisfies RedisStreamOptions[])('rejects %o with ConfigError', (options) => {
    expect(() => resolveRedisStreamOptions(options)).toThrow(ConfigError);
  });
});

describe('connection helpers', () => {
  it('redacts passwords from URLs and keeps the rest', () => {
    const redacted = redactRedisUrl('rediss://alice:s3cret@example.com:6380/2');
    expect(redacted).not.toContain('s3cret');
    expect(redacted).toContain('alice');
    expect(redacted).toContain('example.com:6380');
    expect(redactRedisUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });

  it('classifies errors: lost connections and LOADING are transient, WRONGTYPE and closed clients are not', () => {
    expect(isTransientRedisError(new SocketClosedUnexpectedlyError())).toBe(true);
    expect(
      isTransientRedisError(new ErrorReply("OOM command not allowed when used memory > 'maxmemory'.")),
    ).toBe(true);
    expect(isTransientRedisError(new ErrorReply('LOADING Redis is loading the dataset in memory'))).toBe(
      true,
    );
    expect(
      isTransientRedisError(new ErrorReply('TRYAGAIN Multiple keys request during rehashing of slot')),
    ).toBe(true);
    expect(isTransientRedisError(new ErrorReply('WRONGTYPE Operation against a key'))).toBe(false);
    expect(isTransientRedisError(new ClientClosedError())).toBe(false);
    expect(isTransientRedisError('not an error')).toBe(false);
  });
});

describe('shardOf', () => {
  it('is stable, in range and spreads keys roughly evenly', () => {
    const shards = 8;
    const counts = new Array<number>(shards).fill(0);
    for (let i = 0; i < 8000; i++) {
      const key = `card-${i}`;
      const s = shardOf(key, shards);
      expect(s).toBe(shardOf(key, shards));
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThan(shards);
      counts[s]! += 1;
    }
    // Expected 1000 per shard; binomial sd is about 30, so +-200 cannot fail by chance.
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(200);
  });
});

/** Reads batches until `n` records arrived or `maxBatches` batches were seen. */
async function readRecords(
  iterator: AsyncIterator<readonly DeliveredRecord[]>,
  n: number,
  maxBatches = 200,
): Promise<DeliveredRecord[]> {
  const out: DeliveredRecord[] = [];
  for (let b = 0; b < maxBatches && out.length < n; b++) {
    const next = await iterator.next();
    if (next.done) break;
    out.push(...next.value);
  }
  return out;
}

function records(cards: number, perCard: number): OutgoingRecord[] {
  const out: OutgoingRecord[] = [];
  // Interleaved across cards so that order can only be kept per key if the transport keeps it.
  for (let seq = 0; seq < perCard; seq++) {
    for (let c = 0; c < cards; c++)
      out.push({ partitionKey: `card-${c}`, payload: JSON.stringify({ c, seq }) });
  }
  return out;
}

function expectPerCardOrder(delivered: readonly DeliveredRecord[], cards: number, perCard: number): void {
  const nextSeq = new Array<number>(cards).fill(0);
  for (const record of delivered) {
    const { c, seq } = JSON.parse(record.payload) as { c: number; seq: number };
    expect(seq).toBe(nextSeq[c]);
    nextSeq[c] = seq + 1;
  }
  expect(nextSeq).toEqual(new Array<number>(cards).fill(perCard));
}

const publishModes = ['pipeline', 'script'] as const;

describe.skipIf(skipWithoutRedis())('RedisStreamTransport on a single server', () => {
  let server: RedisServerHandle;
  let inspect: ReturnType<typeof createClient>;

  beforeAll(async () => {
    server = await startRedisServer();
    inspect = createClient({ url: server.url });
    await inspect.connect();
  });

  afterAll(async () => {
    await inspect?.close();
    await server?.stop();
  });

  const optionsFor = (extra: RedisStreamOptions = {}): RedisStreamOptions => ({
    url: server.url,
    stream: `${randomKeyPrefix()}tx`,
    consumer: 'c1',
    ...extra,
  });

  const pendingCount = async (key: string, group = 'fraudstream'): Promise<number> => {
    const summary = (await inspect.sendCommand(['XPENDING', key, group])) as [number, ...unknown[]];
    return Number(summary[0]);
  };

  it.each(publishModes)(
    '%s: delivers every record once with its payload, in order per partition key, and ack empties the PEL',
    async (publishMode) => {
      const options = optionsFor({ publishMode });
      const transport = await RedisStreamTransport.connect(options);
      const writer = transport.writer();
      const reader = transport.reader({ maxBatch: 64, maxWaitMs: 20 });
      const sent = records(7, 30);
      const before = Date.now();
      await writer.publish(sent.slice(0, 100));
      await writer.publish(sent.slice(100));
      const it = reader[Symbol.asyncIterator]();
      const got = await readRecords(it, sent.length);
      expect(got).toHaveLength(sent.length);
      expect(got.every((r) => r.deliveries === 1)).toBe(true);
      expect(got.every((r) => r.enqueuedAtMs >= before && r.enqueuedAtMs <= Date.now())).toBe(true);
      expect(new Set(got.map((r) => r.position)).size).toBe(sent.length);
      expect(got.map((r) => r.payload).sort()).toEqual(sent.map((r) => r.payload).sort());
      expectPerCardOrder(got, 7, 30);
      const key = redisShardKey(options.stream!, 0);
      expect(await pendingCount(key)).toBe(sent.length);
      await reader.ack(got);
      expect(await pendingCount(key)).toBe(0);
      await transport.close();
    },
  );

  it.each(publishModes)(
    '%s: shards by partition key: every shard gets records and per-key order is kept',
    async (publishMode) => {
      const options = optionsFor({ shards: 4, publishMode });
      const writer = await openRedisStreamWriter(options);
      const reader = await openRedisStreamReader(options, { maxBatch: 100, maxWaitMs: 20 });
      const sent = records(40, 10);
      await writer.publish(sent);
      const got = await readRecords(reader[Symbol.asyncIterator](), sent.length);
      expect(got).toHaveLength(sent.length);
      expectPerCardOrder(got, 40, 10);
      const shardsOfCard = new Map<number, Set<string>>();
      for (const r of got) {
        const { c } = JSON.parse(r.payload) as { c: number };
        const key = r.position.slice(0, r.position.lastIndexOf('/'));
        if (!shardsOfCard.has(c)) shardsOfCard.set(c, new Set());
        shardsOfCard.get(c)!.add(key);
        expect(key).toBe(redisShardKey(options.stream!, shardOf(`card-${c}`, 4)));
      }
      for (const keys of shardsOfCard.values()) expect(keys.size).toBe(1);
      for (let s = 0; s < 4; s++) {
        expect(
          Number(await inspect.sendCommand(['XLEN', redisShardKey(options.stream!, s)])),
        ).toBeGreaterThan(0);
      }
      await reader.ack(got);
      await Promise.all([writer.close(), reader.close()]);
    },
  );

  it('redelivers unacknowledged records to a restarted consumer with the same name', async () => {
    const options = optionsFor();
    const writer = await openRedisStreamWriter(options);
    await writer.publish(records(3, 5));
    const first = await openRedisStreamReader(options, { maxBatch: 100, maxWaitMs: 20 });
    const firstGot = await readRecords(first[Symbol.asyncIterator](), 15);
    expect(firstGot).toHaveLength(15);
    await first.ack(firstGot.slice(0, 5));
    await first.close();

    const second = await openRedisStreamReader(options, { maxBatch: 100, maxWaitMs: 20 });
    const it = second[Symbol.asyncIterator]();
    const again = await readRecords(it, 10);
    expect(again.map((r) => r.position)).toEqual(firstGot.slice(5).map((r) => r.position));
    expect(again.every((r) => r.deliveries === 2)).toBe(true);
    await second.ack(again);
    // Nothing else is pending or new.
    expect((await it.next()).value).toEqual([]);
    await Promise.all([writer.close(), second.close()]);
  });

  it('splits records between consumers of one group without overlap', async () => {
    const options = optionsFor({ shards: 2 });
    const writer = await openRedisStreamWriter(options);
    const a = await openRedisStreamReader({ ...options, consumer: 'a' }, { maxBatch: 10, maxWaitMs: 20 });
    const b = await openRedisStreamReader({ ...options, consumer: 'b' }, { maxBatch: 10, maxWaitMs: 20 });
    const itA = a[Symbol.asyncIterator]();
    const itB = b[Symbol.asyncIterator]();
    await writer.publish(records(10, 10));
    const gotA: DeliveredRecord[] = [];
    const gotB: DeliveredRecord[] = [];
    // Alternate so that both consumers take part.
    for (let round = 0; round < 100 && gotA.length + gotB.length < 100; round++) {
      gotA.push(...((await itA.next()).value as DeliveredRecord[]));
      gotB.push(...((await itB.next()).value as DeliveredRecord[]));
    }
    expect(gotA.length).toBeGreaterThan(0);
    expect(gotB.length).toBeGreaterThan(0);
    const positions = [...gotA, ...gotB].map((r) => r.position);
    expect(new Set(positions).size).toBe(100);
    expect(positions).toHaveLength(100);
    await Promise.all([a.ack(gotA), b.ack(gotB)]);
    await Promise.all([writer.close(), a.close(), b.close()]);
  });

  it('lets a live consumer take over entries of a dead one after claimIdleMs (XAUTOCLAIM)', async () => {
    const options = optionsFor({ claimIdleMs: 100 });
    const writer = await openRedisStreamWriter(options);
    await writer.publish(records(2, 4));
    const dead = await openRedisStreamReader({ ...options, consumer: 'dead' }, { maxWaitMs: 20 });
    const lost = await readRecords(dead[Symbol.asyncIterator](), 8);
    expect(lost).toHaveLength(8);
    await dead.close();

    const alive = await openRedisStreamReader({ ...options, consumer: 'alive' }, { maxWaitMs: 20 });
    const taken = await readRecords(alive[Symbol.asyncIterator](), 8, 1000);
    expect(taken.map((r) => r.position).sort()).toEqual(lost.map((r) => r.position).sort());
    expect(taken.every((r) => r.deliveries === 2)).toBe(true);
    await alive.ack(taken);
    const key = redisShardKey(options.stream!, 0);
    expect(await pendingCount(key)).toBe(0);
    await Promise.all([writer.close(), alive.close()]);
  });

  it('redelivers released records and dead-letters them after maxDeliveries', async () => {
    const options = optionsFor({ maxDeliveries: 2 });
    const writer = await openRedisStreamWriter(options);
    await writer.publish([
      { partitionKey: 'a', payload: 'poison' },
      { partitionKey: 'a', payload: 'fine' },
    ]);
    const reader = await openRedisStreamReader(options, { maxWaitMs: 20 });
    const it = reader[Symbol.asyncIterator]();
    const firstBatch = await readRecords(it, 2);
    expect(firstBatch.map((r) => [r.payload, r.deliveries])).toEqual([
      ['poison', 1],
      ['fine', 1],
    ]);
    await reader.ack(firstBatch.filter((r) => r.payload === 'fine'));
    const poison = firstBatch.filter((r) => r.payload === 'poison');
    await reader.release(poison);
    const second = (await it.next()).value as DeliveredRecord[];
    expect(second.map((r) => [r.payload, r.deliveries, r.position])).toEqual([
      ['poison', 2, poison[0]!.position],
    ]);
    await reader.release(second);
    // Third delivery would exceed maxDeliveries: dead-lettered and acknowledged instead.
    expect((await it.next()).value).toEqual([]);
    const dead = (await inspect.sendCommand(['XRANGE', `${options.stream}:dead`, '-', '+'])) as [
      string,
      string[],
    ][];
    expect(dead).toHaveLength(1);
    const fields = dead[0]![1];
    const field = (name: string) => fields[fields.indexOf(name) + 1];
    expect(field('p')).toBe('poison');
    expect(field('reason')).toBe('max-deliveries');
    expect(field('position')).toBe(poison[0]!.position);
    expect(await pendingCount(redisShardKey(options.stream!, 0))).toBe(0);
    await Promise.all([writer.close(), reader.close()]);
  });

  it('deadLetter() writes the reason and acknowledges', async () => {
    const options = optionsFor({ deadLetterStream: `${randomKeyPrefix()}dlq` });
    const writer = await openRedisStreamWriter(options);
    await writer.publish([{ partitionKey: 'k', payload: '{not json' }]);
    const reader = await openRedisStreamReader(options, { maxWaitMs: 20 });
    const [record] = await readRecords(reader[Symbol.asyncIterator](), 1);
    await reader.deadLetter([{ record: record!, reason: 'parse: payload' }]);
    const dead = (await inspect.sendCommand(['XRANGE', options.deadLetterStream!, '-', '+'])) as [
      string,
      string[],
    ][];
    const fields = dead[0]![1];
    const field = (name: string) => fields[fields.indexOf(name) + 1];
    expect(dead).toHaveLength(1);
    expect([field('p'), field('reason'), field('size')]).toEqual(['{not json', 'parse: payload', '9']);
    expect(field('sha256')).toBe(createHash('sha256').update('{not json').digest('hex'));
    expect(await pendingCount(redisShardKey(options.stream!, 0))).toBe(0);
    await Promise.all([writer.close(), reader.close()]);
  });

  it('startFrom $ skips what was produced before the group existed; 0 does not', async () => {
    const options = optionsFor();
    const writer = await openRedisStreamWriter(options);
    await writer.publish([{ partitionKey: 'k', payload: 'old' }]);
    const late = await openRedisStreamReader({ ...options, startFrom: '$' }, { maxWaitMs: 20 });
    const lateIt = late[Symbol.asyncIterator]();
    expect((await lateIt.next()).value).toEqual([]);
    await writer.publish([{ partitionKey: 'k', payload: 'new' }]);
    expect((await readRecords(lateIt, 1)).map((r) => r.payload)).toEqual(['new']);
    await late.close();
    const other = await openRedisStreamReader({ ...options, group: 'from-start' }, { maxWaitMs: 20 });
    expect((await readRecords(other[Symbol.asyncIterator](), 2)).map((r) => r.payload)).toEqual([
      'old',
      'new',
    ]);
    await Promise.all([writer.close(), other.close()]);
  });

  it('close() interrupts a long blocking read and ends the iteration', async () => {
    // maxWaitMs is far beyond the test timeout: the test can only finish if close() interrupts the read.
    const reader = await openRedisStreamReader(optionsFor(), { maxWaitMs: 600_000 });
    const it = reader[Symbol.asyncIterator]();
    const pending = it.next();
    // Wait until the reader sits in its blocking XREADGROUP: CLIENT LIST flags it `b` (blocked).
    let blocked = false;
    for (let i = 0; i < 500 && !blocked; i++) {
      const clients = String(await inspect.sendCommand(['CLIENT', 'LIST']));
      blocked = /flags=[A-Za-z]*b[A-Za-z]* .*cmd=xreadgroup/.test(clients);
      if (!blocked) await new Promise((r) => setTimeout(r, 10));
    }
    expect(blocked).toBe(true);
    await reader.close();
    expect(await pending).toEqual({ done: true, value: undefined });
    await reader.close();
  });

  it.each(publishModes)('%s: publish rejects on a non-transient server error', async (publishMode) => {
    const options = optionsFor({ retries: 0, publishMode });
    await inspect.set(redisShardKey(options.stream!, 0), 'not a stream');
    const writer = await openRedisStreamWriter(options);
    const error = await writer.publish([{ partitionKey: 'k', payload: 'x' }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FraudstreamError);
    expect((error as Error).message).toContain('WRONGTYPE');
    await writer.close();
    await expect(writer.publish([{ partitionKey: 'k', payload: 'x' }])).rejects.toThrow(/closed/);
  });

  it.each(publishModes)('%s: trims shard streams approximately when maxLen is set', async (publishMode) => {
    const options = optionsFor({ maxLen: 100, publishMode });
    const writer = await openRedisStreamWriter(options);
    for (let i = 0; i < 10; i++) await writer.publish(records(10, 50));
    const length = Number(await inspect.sendCommand(['XLEN', redisShardKey(options.stream!, 0)]));
    // `~` trims whole radix-tree nodes (100 entries by default), so the length stays near maxLen, well below 5000.
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThan(1000);
    await writer.close();
  });

  it('caps the dead-letter stream and cuts long payloads, keeping their full size and SHA-256', async () => {
    const options = optionsFor({ deadLetterMaxLen: 100, deadLetterMaxPayloadBytes: 1_000 });
    const reader = await openRedisStreamReader(options, { maxWaitMs: 20 });
    const shard = redisShardKey(options.stream!, 0);
    const big = `{"deep":${'['.repeat(30_000)}`;
    const records = Array.from({ length: 1_000 }, (_, i) => ({
      record: {
        payload: i === 999 ? big : `bad ${i}`,
        position: `${shard}/1-${i}`,
        deliveries: 1,
        enqueuedAtMs: 0,
      },
      reason: 'parse: payload',
    }));
    await reader.deadLetter(records);
    const dead = `${options.stream}:dead`;
    // `MAXLEN ~` trims whole radix-tree nodes (100 entries): near the cap, far below 1,000.
    expect(Number(await inspect.sendCommand(['XLEN', dead]))).toBeLessThan(300);
    const newest = (await inspect.sendCommand(['XREVRANGE', dead, '+', '-', 'COUNT', '1'])) as [
      string,
      string[],
    ][];
    const fields = newest[0]![1];
    const field = (name: string) => fields[fields.indexOf(name) + 1]!;
    expect(field('p')).toBe(big.slice(0, 1_000));
    expect(Number(field('size'))).toBe(big.length);
    expect(field('sha256')).toBe(createHash('sha256').update(big).digest('hex'));
    await reader.close();
  });

  it('trims only entries every group has delivered and acknowledged (XTRIM MINID)', async () => {
    const options = optionsFor({ trimIntervalMs: 0 });
    const shard = redisShardKey(options.stream!, 0);
    const writer = await openRedisStreamWriter(options);
    await writer.publish(Array.from({ length: 10 }, (_, i) => ({ partitionKey: 'k', payload: `r${i}` })));
    const a = await openRedisStreamReader(options, { maxBatch: 10, maxWaitMs: 20 });
    const b = await openRedisStreamReader(
      { ...options, group: 'audit', consumer: 'b1' },
      { maxBatch: 3, maxWaitMs: 20 },
    );
    const aIt = a[Symbol.asyncIterator]();
    const bIt = b[Symbol.asyncIterator]();
    const inA = await readRecords(aIt, 10);
    // Group A acknowledges r0..r5 but holds r6..r9; group B has delivered and acknowledged r0..r2.
    await a.ack(inA.slice(0, 6));
    const inB = (await bIt.next()).value as DeliveredRecord[];
    expect(inB.map((r) => r.payload)).toEqual(['r0', 'r1', 'r2']);
    await b.ack(inB);
    // B's last-delivered entry (r2) is the bound: r0 and r1 go, nothing pending or unread does.
    expect(await a.trimAcknowledged()).toBe(2);
    expect(Number(await inspect.sendCommand(['XLEN', shard]))).toBe(8);
    const rest = await readRecords(bIt, 7);
    expect(rest.map((r) => r.payload)).toEqual(['r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9']);
    await b.ack(rest);
    // Now A's oldest pending entry (r6) is the bound, and the released records still come back.
    expect(await a.trimAcknowledged()).toBe(4);
    await a.release(inA.slice(6));
    const again = await readRecords(aIt, 4);
    expect(again.map((r) => [r.payload, r.deliveries])).toEqual([
      ['r6', 2],
      ['r7', 2],
      ['r8', 2],
      ['r9', 2],
    ]);
    await a.ack(again);
    expect(await a.trimAcknowledged()).toBe(3);
    expect(Number(await inspect.sendCommand(['XLEN', shard]))).toBe(1);
    await Promise.all([writer.close(), a.close(), b.close()]);
  });

  it('trims by itself every trimIntervalMs while reading', async () => {
    const options = optionsFor({ trimIntervalMs: 50 });
    const shard = redisShardKey(options.stream!, 0);
    const writer = await openRedisStreamWriter(options);
    await writer.publish(Array.from({ length: 50 }, (_, i) => ({ partitionKey: 'k', payload: `r${i}` })));
    const reader = await openRedisStreamReader(options, { maxBatch: 50, maxWaitMs: 20 });
    const iterator = reader[Symbol.asyncIterator]();
    await reader.ack(await readRecords(iterator, 50));
    // Empty reads of maxWaitMs go on; one of them passes the interval and trims.
    for (let i = 0; i < 200 && Number(await inspect.sendCommand(['XLEN', shard])) > 1; i++)
      await iterator.next();
    expect(Number(await inspect.sendCommand(['XLEN', shard]))).toBe(1);
    await Promise.all([writer.close(), reader.close()]);
  });

  it('keeps reading through a server busy with a script for longer than its retries last', async () => {
    const busy = await startRedisServer({ extraArgs: ['--busy-reply-threshold', '50'] });
    const options = { ...optionsFor(), url: busy.url, retries: 1, retryBaseMs: 10 };
    const writer = await openRedisStreamWriter(options);
    const reader = await openRedisStreamReader(options, { maxWaitMs: 20 });
    const blocker = createClient({ url: busy.url });
    try {
      const iterator = reader[Symbol.asyncIterator]();
      await writer.publish([{ partitionKey: 'k', payload: 'before' }]);
      const first = await readRecords(iterator, 1);
      await reader.ack(first);
      await blocker.connect();
      // 1.5 s of BUSY replies: far past 1 retry of 10 ms, which used to end the iteration.
      const script = blocker.sendCommand([
        'EVAL',
        "local t = redis.call('TIME') local s = t[1] * 1000000 + t[2] while true do t = redis.call('TIME') if t[1] * 1000000 + t[2] - s > 1500000 then break end end return 1",
        '0',
      ]);
      const during = iterator.next();
      await script;
      await writer.publish([{ partitionKey: 'k', payload: 'after' }]);
      const batches = [((await during).value ?? []) as DeliveredRecord[]];
      if (batches[0]!.length === 0) batches.push(await readRecords(iterator, 1));
      expect(batches.flat().map((r) => r.payload)).toEqual(['after']);
    } finally {
      await blocker.close().catch(() => {});
      await Promise.all([writer.close(), reader.close()]);
      await busy.stop();
    }
  });

  it('ack and release refuse records of another stream', async () => {
    const reader: RedisStreamReader = await openRedisStreamReader(optionsFor(), { maxWaitMs: 20 });
    const foreign: DeliveredRecord = {
      payload: '',
      position: 'elsewhere/1-0',
      deliveries: 1,
      enqueuedAtMs: 0,
    };
    await expect(reader.ack([foreign])).rejects.toThrow(FraudstreamError);
    await expect(reader.release([foreign])).rejects.toThrow(FraudstreamError);
    await reader.close();
  });
});

describe.skipIf(skipWithoutRedis())('RedisStreamTransport across a server restart', () => {
  let server: RedisServerHandle;

  beforeAll(async () => {
    server = await startRedisServer({ appendOnly: true });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('writer and reader reconnect by themselves, even with a blocking read in flight', async () => {
    const transport = await RedisStreamTransport.connect({
      url: server.url,
      stream: `${randomKeyPrefix()}tx`,
      consumer: 'c1',
      retries: 20,
    });
    const writer = transport.writer();
    // A long block so that the read below is in flight when the server goes away.
    const reader = transport.reader({ maxWaitMs: 600_000 });
    const it = reader[Symbol.asyncIterator]();
    await writer.publish([{ partitionKey: 'k', payload: 'before' }]);
    const before = await readRecords(it, 1);
    expect(before.map((r) => r.payload)).toEqual(['before']);
    await reader.ack(before);

    const pending = it.next();
    const inspect = createClient({ url: server.url });
    await inspect.connect();
    let blocked = false;
    for (let i = 0; i < 500 && !blocked; i++) {
      blocked = /flags=[A-Za-z]*b[A-Za-z]* .*cmd=xreadgroup/.test(
        String(await inspect.sendCommand(['CLIENT', 'LIST'])),
      );
      if (!blocked) await new Promise((r) => setTimeout(r, 10));
    }
    expect(blocked).toBe(true);
    await inspect.close();

    const oldPid = server.pid;
    await server.restart();
    expect(server.pid).not.toBe(oldPid);

    await writer.publish([{ partitionKey: 'k', payload: 'after' }]);
    const after = await pending;
    expect(after.done).toBe(false);
    expect((after.value as DeliveredRecord[]).map((r) => [r.payload, r.deliveries])).toEqual([['after', 1]]);
    await reader.ack(after.value as DeliveredRecord[]);
    await transport.close();
  });
});
