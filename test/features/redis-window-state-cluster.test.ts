import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WindowEvent } from '../../src/features/index.js';
import { DAY_MS, MemoryWindowState, windowAggregateCount } from '../../src/features/index.js';
import { RedisWindowState } from '../../src/features/redis/index.js';
import {
  type RedisClusterHandle,
  randomKeyPrefix,
  skipWithoutRedis,
  startRedisCluster,
} from '../helpers/redis-server.js';
import { describeWindowStateConformance } from './window-state-conformance.js';

describe.skipIf(skipWithoutRedis(['redis-server', 'redis-cli']))(
  'RedisWindowState on a 3-master cluster',
  () => {
    let cluster: RedisClusterHandle;
    beforeAll(async () => {
      cluster = await startRedisCluster({ masters: 3 });
    });
    afterAll(async () => {
      await cluster?.stop();
    });

    describeWindowStateConformance('RedisWindowState (cluster)', (options) =>
      RedisWindowState.connect({
        ...options,
        cluster: { rootNodes: cluster.rootNodes },
        prefix: randomKeyPrefix(),
      }),
    );

    it('handles ids with braces (which would change the hash tag) like any other id', async () => {
      const state = await RedisWindowState.connect({
        cluster: { rootNodes: cluster.rootNodes },
        prefix: randomKeyPrefix(),
      });
      const memory = new MemoryWindowState();
      const ids = ['}x', 'a{b}', '{', 'plain', '%7b'];
      const t0 = Date.UTC(2018, 3, 1);
      const events: WindowEvent[] = [];
      for (let i = 0; i < 40; i++) {
        events.push({
          key: `e${i}`,
          cardId: ids[i % 5]!,
          terminalId: ids[(i * 3) % 5]!,
          timestampMs: t0 + i * 0.5 * DAY_MS,
          amount: i,
        });
      }
      const a = windowAggregateCount(state.config);
      const got = new Float64Array(events.length * a);
      const expected = new Float64Array(events.length * a);
      await state.updateAndRead(events, got);
      memory.updateAndReadSync(events, expected);
      expect(Array.from(got)).toEqual(Array.from(expected));
      await state.close();
    });
  },
);
