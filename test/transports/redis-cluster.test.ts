import { createCluster } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStreamTransport, redisShardKey } from '../../src/transports/redis/index.js';
import type { DeliveredRecord, OutgoingRecord } from '../../src/transports/types.js';
import {
  type RedisClusterHandle,
  randomKeyPrefix,
  skipWithoutRedis,
  startRedisCluster,
} from '../helpers/redis-server.js';

describe.skipIf(skipWithoutRedis(['redis-server', 'redis-cli']))(
  'RedisStreamTransport on a 3-master cluster',
  () => {
    let cluster: RedisClusterHandle;

    beforeAll(async () => {
      cluster = await startRedisCluster({ masters: 3 });
    });

    afterAll(async () => {
      await cluster?.stop();
    });

    it.each(['pipeline', 'script'] as const)(
      '%s: publishes, reads and acknowledges across shards on different nodes, keeping per-key order',
      async (publishMode) => {
        const stream = `${randomKeyPrefix()}tx`;
        const shards = 6;
        const transport = await RedisStreamTransport.connect({
          cluster: { rootNodes: cluster.rootNodes },
          stream,
          shards,
          consumer: 'c1',
          publishMode,
        });
        const writer = transport.writer();
        const reader = transport.reader({ maxBatch: 50, maxWaitMs: 20 });
        const sent: OutgoingRecord[] = [];
        for (let seq = 0; seq < 20; seq++) {
          for (let c = 0; c < 15; c++)
            sent.push({ partitionKey: `card-${c}`, payload: JSON.stringify({ c, seq }) });
        }
        await writer.publish(sent);

        const it = reader[Symbol.asyncIterator]();
        const got: DeliveredRecord[] = [];
        for (let b = 0; b < 200 && got.length < sent.length; b++) {
          const next = await it.next();
          if (next.done) break;
          got.push(...next.value);
          await reader.ack(next.value);
        }
        expect(got).toHaveLength(sent.length);
        const nextSeq = new Array<number>(15).fill(0);
        for (const r of got) {
          const { c, seq } = JSON.parse(r.payload) as { c: number; seq: number };
          expect(seq).toBe(nextSeq[c]);
          nextSeq[c] = seq + 1;
        }

        const inspect = createCluster({ rootNodes: cluster.rootNodes });
        await inspect.connect();
        const nodesUsed = new Set<string>();
        for (let s = 0; s < shards; s++) {
          const key = redisShardKey(stream, s);
          const summary = (await inspect.sendCommand(key, true, ['XPENDING', key, 'fraudstream'])) as [
            number,
          ];
          expect(Number(summary[0])).toBe(0);
          const slot = Number(await inspect.sendCommand(key, true, ['CLUSTER', 'KEYSLOT', key]));
          const master = inspect.slots[slot]?.master;
          nodesUsed.add(`${master?.host}:${master?.port}`);
        }
        // Hash-tagged shard keys land on more than one master.
        expect(nodesUsed.size).toBeGreaterThan(1);
        // Everything is acknowledged: trimming leaves at most the last-delivered entry per shard.
        const lengthBefore = await Promise.all(
          Array.from({ length: shards }, (_, s) =>
            inspect.sendCommand(redisShardKey(stream, s), true, ['XLEN', redisShardKey(stream, s)]),
          ),
        );
        const removed = await reader.trimAcknowledged();
        const lengthAfter = await Promise.all(
          Array.from({ length: shards }, (_, s) =>
            inspect.sendCommand(redisShardKey(stream, s), true, ['XLEN', redisShardKey(stream, s)]),
          ),
        );
        const total = (lengths: unknown[]): number => lengths.reduce<number>((a, b) => a + Number(b), 0);
        expect(removed).toBe(total(lengthBefore) - total(lengthAfter));
        for (const length of lengthAfter) expect(Number(length)).toBeLessThanOrEqual(1);
        await inspect.close();
        await transport.close();
      },
    );
  },
);
