import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import { FileCheckpointStore, RedisCheckpointStore } from '../../src/transports/index.js';
import {
  type RedisServerHandle,
  randomKeyPrefix,
  skipWithoutRedis,
  startRedisServer,
} from '../helpers/redis-server.js';

describe('FileCheckpointStore', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fraudstream-checkpoints-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps checkpoints across instances and never moves them backwards', async () => {
    const path = join(dir, 'kinesis.json');
    const first = new FileCheckpointStore(path);
    expect(await first.load('shardId-000000000000')).toBeUndefined();
    await first.save('shardId-000000000000', '49590338271490256608559692538361571095921575989136588898');
    await first.save('shardId-000000000001', '99');
    // Longer is newer: 100 > 99 although "100" < "99" as text; a lower number is ignored.
    await first.save('shardId-000000000001', '100');
    await first.save('shardId-000000000001', '98');
    const again = new FileCheckpointStore(path);
    expect(await again.load('shardId-000000000000')).toBe(
      '49590338271490256608559692538361571095921575989136588898',
    );
    expect(await again.load('shardId-000000000001')).toBe('100');
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({
      'shardId-000000000000': '49590338271490256608559692538361571095921575989136588898',
      'shardId-000000000001': '100',
    });
  });

  it('writes concurrent saves one at a time and keeps the newest', async () => {
    const path = join(dir, 'concurrent.json');
    const store = new FileCheckpointStore(path);
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.save(`shard-${i % 3}`, String(1000 + i))));
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({
      'shard-0': '1048',
      'shard-1': '1049',
      'shard-2': '1047',
    });
  });

  it('refuses a file that is not a checkpoint file, with the path in the error', async () => {
    const notJson = join(dir, 'broken.json');
    await writeFile(notJson, '{ nope');
    await expect(new FileCheckpointStore(notJson).load('s')).rejects.toThrow(ConfigError);
    const wrong = join(dir, 'wrong.json');
    await writeFile(wrong, JSON.stringify({ s: 12 }));
    await expect(new FileCheckpointStore(wrong).load('s')).rejects.toThrow(/wrong\.json: shard s/);
  });
});

describe.skipIf(skipWithoutRedis())('RedisCheckpointStore', () => {
  let server: RedisServerHandle;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('keeps checkpoints in a hash, per key, and never moves them backwards', async () => {
    const key = `${randomKeyPrefix('cp')}kinesis:checkpoints:tx`;
    const store = await RedisCheckpointStore.connect({ url: server.url, key });
    const other = await RedisCheckpointStore.connect({ url: server.url, key: `${key}:other` });
    try {
      expect(await store.load('shardId-000000000000')).toBeUndefined();
      await store.save('shardId-000000000000', '99');
      await store.save('shardId-000000000000', '100');
      await store.save('shardId-000000000000', '98');
      await other.save('shardId-000000000000', '5');
      expect(await store.load('shardId-000000000000')).toBe('100');
      expect(await other.load('shardId-000000000000')).toBe('5');
      const fresh = await RedisCheckpointStore.connect({ url: server.url, key });
      expect(await fresh.load('shardId-000000000000')).toBe('100');
      await fresh.close();
    } finally {
      await store.close();
      await other.close();
    }
  });
});
