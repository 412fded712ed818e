import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WindowEvent } from '../../src/features/index.js';
import {
  CARD_HISTORY_STRIDE,
  MemoryCardHistoryState,
  RedisCardHistoryState,
} from '../../src/features/index.js';
import {
  type RedisClusterHandle,
  type RedisServerHandle,
  randomKeyPrefix,
  skipWithoutRedis,
  startRedisCluster,
  startRedisServer,
} from '../helpers/redis-server.js';
import { describeCardHistoryConformance } from './card-history-conformance.js';

describe.skipIf(skipWithoutRedis())('RedisCardHistoryState on a single server', () => {
  let server: RedisServerHandle;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  describeCardHistoryConformance('RedisCardHistoryState (single server)', (options) =>
    RedisCardHistoryState.connect({ ...options, url: server.url, prefix: randomKeyPrefix() }),
  );
});

describe.skipIf(skipWithoutRedis(['redis-server', 'redis-cli']))(
  'RedisCardHistoryState on a 3-master cluster',
  () => {
    let cluster: RedisClusterHandle;
    beforeAll(async () => {
      cluster = await startRedisCluster({ masters: 3 });
    });
    afterAll(async () => {
      await cluster?.stop();
    });

    it('gives the memory state’s outputs, ids with braces and bars included', async () => {
      const state = await RedisCardHistoryState.connect({
        cluster: { rootNodes: cluster.rootNodes },
        prefix: randomKeyPrefix(),
      });
      const memory = new MemoryCardHistoryState();
      const ids = ['}x', 'a{b}', '{', 'pl|ain', '%7b'];
      const t0 = Date.UTC(2018, 3, 1);
      const events: WindowEvent[] = Array.from({ length: 60 }, (_, i) => ({
        key: `e|${i}`,
        cardId: ids[i % 5]!,
        terminalId: ids[(i * 3) % 5]!,
        timestampMs: t0 + i * 3_600_000 * 7,
        amount: i + 0.25,
      }));
      const got = new Float64Array(events.length * CARD_HISTORY_STRIDE);
      const expected = new Float64Array(events.length * CARD_HISTORY_STRIDE);
      await state.updateAndRead(events, got);
      memory.updateAndReadSync(events, expected);
      expect(Array.from(got)).toEqual(Array.from(expected));
      await state.close();
    }, 60_000);
  },
);
