import { afterAll, beforeAll, describe } from 'vitest';
import { RedisWindowState } from '../../src/features/redis/index.js';
import {
  type RedisServerHandle,
  randomKeyPrefix,
  skipWithoutRedis,
  startRedisServer,
} from '../helpers/redis-server.js';
import { describeWindowStateConformance } from './window-state-conformance.js';

describe.skipIf(skipWithoutRedis())('RedisWindowState on a single server', () => {
  let server: RedisServerHandle;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  describeWindowStateConformance('RedisWindowState (single server)', (options) =>
    RedisWindowState.connect({ ...options, url: server.url, prefix: randomKeyPrefix() }),
  );
});
