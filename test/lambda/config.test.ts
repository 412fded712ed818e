import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import { lambdaConfigFromEnv } from '../../src/lambda/index.js';

describe('lambdaConfigFromEnv', () => {
  it("reads the lab's Redis variables and finds the bundle beside the code by default", () => {
    const config = lambdaConfigFromEnv({
      LAMBDA_TASK_ROOT: '/var/task',
      REDIS_HOST: 'cache.internal',
      REDIS_PORT: '6380',
      REDIS_PWD: 'p@ss word',
    });
    expect(config.modelsDir).toBe('/var/task/models');
    expect(config.redisUrl).toBe('redis://:p%40ss%20word@cache.internal:6380');
    expect(config.classifierEndpoint).toBeUndefined();
    expect(config.endpointFallback).toBe('local');
    expect(config.logLevel).toBe('info');
  });

  it('takes the bundle location, endpoints and fallback; empty values (as SAM passes them) mean unset', () => {
    const config = lambdaConfigFromEnv({
      REDIS_URL: 'rediss://cache:6380',
      FRAUDSTREAM_MODELS: '/opt/models',
      FRAUDSTREAM_CLASSIFIER_ENDPOINT: 'fraud-detection-endpoint',
      FRAUDSTREAM_ANOMALY_ENDPOINT: '',
      FRAUDSTREAM_ENDPOINT_FALLBACK: 'retry',
      FRAUDSTREAM_ENDPOINT_TIMEOUT_MS: '500',
      FRAUDSTREAM_PREFIX: '',
    });
    expect(config).toMatchObject({
      modelsDir: '/opt/models',
      redisUrl: 'rediss://cache:6380',
      classifierEndpoint: 'fraud-detection-endpoint',
      anomalyEndpoint: undefined,
      endpointFallback: 'retry',
      endpointTimeoutMs: 500,
      prefix: undefined,
    });
  });

  it('refuses a missing Redis and bad values, naming the variable', () => {
    expect(() => lambdaConfigFromEnv({})).toThrow(ConfigError);
    expect(() => lambdaConfigFromEnv({})).toThrow(/REDIS_HOST/);
    const redis = { REDIS_HOST: 'h' };
    expect(() => lambdaConfigFromEnv({ ...redis, FRAUDSTREAM_ENDPOINT_FALLBACK: 'review' })).toThrow(
      /FRAUDSTREAM_ENDPOINT_FALLBACK/,
    );
    expect(() => lambdaConfigFromEnv({ ...redis, FRAUDSTREAM_ENDPOINT_TIMEOUT_MS: '-1' })).toThrow(
      /FRAUDSTREAM_ENDPOINT_TIMEOUT_MS/,
    );
    expect(() => lambdaConfigFromEnv({ ...redis, FRAUDSTREAM_LOG_LEVEL: 'loud' })).toThrow(
      /FRAUDSTREAM_LOG_LEVEL/,
    );
  });
});
