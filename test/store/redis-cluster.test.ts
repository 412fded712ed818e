import { afterAll, beforeAll, describe } from 'vitest';
import { RedisStore } from '../../src/store/redis/index.js';
import {
  type RedisClusterHandle,
  randomKeyPrefix,
  skipWithoutRedis,
  startRedisCluster,
} from '../helpers/redis-server.js';
import { describeStoreConformance } from './store-conformance.js';

describe.skipIf(skipWithoutRedis(['redis-server', 'redis-cli']))('RedisStore on a 3-master cluster', () => {
  let cluster: RedisClusterHandle;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  describeStoreConformance('RedisStore (cluster, 16 shards)', () =>
    RedisStore.connect({ cluster: { rootNodes: cluster.rootNodes }, prefix: randomKeyPrefix() }),
  );
});
