import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configValue, loadConfigFile, redactUrl, redisUrlFromEnv } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors/index.js';

describe('configuration', () => {
  it('builds the Redis URL from REDIS_URL or the lab variables, with TLS and ACL users', () => {
    expect(redisUrlFromEnv({ REDIS_URL: 'redis://a:1' })).toBe('redis://a:1');
    expect(redisUrlFromEnv({})).toBeUndefined();
    expect(redisUrlFromEnv({ REDIS_HOST: 'h', REDIS_PORT: '7000', REDIS_PWD: 'p@ss' })).toBe(
      'redis://:p%40ss@h:7000',
    );
    expect(redisUrlFromEnv({ REDIS_HOST: 'h', REDIS_USERNAME: 'u', REDIS_PWD: 'x', REDIS_TLS: 'true' })).toBe(
      'rediss://u:x@h:6379',
    );
  });

  it('never lets a password through redactUrl', () => {
    const redacted = redactUrl('rediss://user:s3cret@cache.example:6380/0');
    expect(redacted).not.toContain('s3cret');
    expect(redacted).toContain('user');
    expect(redactUrl('memory')).toBe('memory');
  });

  it.each([
    // URL parsing rejects these or finds no password in them (bad port, space in the host, an
    // unescaped `/` or no `//`): none may come back as given.
    ['redis://user:s3cret@cache.example:99999', 'redis://***@cache.example:99999'],
    ['redis://:s3cret@bad host:6379', 'redis://***@bad host:6379'],
    ['redis://u:p@ss/w0rd@h:1?x=1', 'redis://***@h:1'],
    ['user:s3cret@cache:6379', '***@cache:6379'],
    ['redis://:s3cret', 'redis://<unparseable URL, redacted>'],
    ['rediss://cache example:6379/s3cret', 'rediss://<unparseable URL, redacted>'],
    ['cache:s3cret:6379', '<unparseable URL, redacted>'],
    ['some stream', '<unparseable URL, redacted>'],
  ])('redacts the unparseable URL %s', (url, expected) => {
    const redacted = redactUrl(url);
    expect(redacted).toBe(expected);
    expect(redacted).not.toContain('s3cret');
  });

  it('redacts secret query parameters and keeps the rest of a URL readable', () => {
    const redacted = redactUrl(
      'https://u:pw@kinesis.example/x?region=eu-west-1&token=s3cret&Password=s3cret',
    );
    expect(redacted).not.toContain('s3cret');
    expect(redacted).not.toContain('pw@');
    expect(redacted).toContain('region=eu-west-1');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redactUrl('kinesis://demo-stream')).toBe('kinesis://demo-stream');
    expect(redactUrl('demo-stream')).toBe('demo-stream');
  });

  it('reads a config file: command sections first, then top level', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fraudstream-config-'));
    const path = join(dir, 'c.json');
    await writeFile(path, JSON.stringify({ seed: 7, consume: { 'batch-size': 1000, seed: 3 } }));
    const file = loadConfigFile(path);
    expect(configValue(file, 'consume', 'batch-size')).toBe(1000);
    expect(configValue(file, 'consume', 'seed')).toBe(3);
    expect(configValue(file, 'train', 'seed')).toBe(7);
    expect(configValue(file, 'train', 'batch-size')).toBeUndefined();
    await writeFile(path, '[1]');
    expect(() => loadConfigFile(path)).toThrow(ConfigError);
    await writeFile(path, '{oops');
    expect(() => loadConfigFile(path)).toThrow(/not valid JSON/);
    expect(() => loadConfigFile(join(dir, 'missing.json'))).toThrow(/cannot read config file/);
    await rm(dir, { recursive: true, force: true });
  });
});
