import { afterAll, beforeAll, describe } from 'vitest';
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
  },
);
