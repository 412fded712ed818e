import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/store/redis/index.js';
import {
  type RedisServerHandle,
  randomKeyPrefix,
  skipWithoutRedis,
  startRedisServer,
} from '../helpers/redis-server.js';
import { describeStoreConformance } from './store-conformance.js';

describe.skipIf(skipWithoutRedis())('RedisStore on a single server', () => {
  let server: RedisServerHandle;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  describeStoreConformance('RedisStore (single server, core layout)', () =>
    RedisStore.connect({ url: server.url, prefix: randomKeyPrefix() }),
  );
  describeStoreConformance('RedisStore (single server, 4 shards)', () =>
    RedisStore.connect({ url: server.url, prefix: randomKeyPrefix(), shards: 4 }),
  );

  it('detects the core layout on a server without modules and reports it', async () => {
    const notes: string[] = [];
    const store = await RedisStore.connect({
      url: server.url,
      prefix: randomKeyPrefix(),
      onInfo: (m) => notes.push(m),
    });
    expect(store.layout).toBe('core');
    expect(notes.join('\n')).toContain('core types');
    await store.close();
  });
});
