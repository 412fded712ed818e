import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import {
  getDocumentCommand,
  modulesFromCommandInfo,
  modulesFromModuleList,
  parseDocumentReply,
  RedisStoreKeys,
  resolveRedisStoreOptions,
  timeSeriesRangeCommand,
  timeSeriesSetupCommands,
} from '../../src/store/redis/index.js';

describe('Redis store layout (no server)', () => {
  const keys = new RedisStoreKeys('fs:', 4, '');

  it('names every key of a record inside its shard hash tag', () => {
    expect(keys.transaction(2, 'tx-1@7')).toBe('fs:tx:{s2}tx-1@7');
    expect(keys.count(2)).toBe('fs:count:{s2}');
    expect(keys.counterBucket(2, 10_000, 1_700_000_010_000)).toBe('fs:cnt:{s2}:10000:1700000010000');
    expect(keys.coreSeries('fraudulent_ts', 2)).toBe('fs:ts:fraudulent_ts:{s2}');
    for (const key of [keys.transaction(2, 'a'), keys.count(2), keys.counterBucket(2, 1_000, 0)]) {
      expect(/\{([^}]*)\}/.exec(key)?.[1]).toBe('s2');
    }
  });

  it('uses the lab series keys exactly on the module layout, unless a series prefix is set', () => {
    expect(keys.moduleSeries('fraud-ts')).toBe('fraud-ts');
    expect(keys.moduleSeries('non-fraudulent_ts')).toBe('non-fraudulent_ts');
    expect(new RedisStoreKeys('fs:', 1, 'lab:').moduleSeries('fraudulent_ts')).toBe('lab:fraudulent_ts');
  });

  it('creates the lab series with retention, BLOCK duplicates, the type label and 10 s compaction rules', () => {
    const commands = timeSeriesSetupCommands(keys, 3_600_000, true);
    const creates = commands.filter((c) => c[0] === 'TS.CREATE');
    expect(creates[0]).toEqual([
      'TS.CREATE',
      'fraud-ts',
      'RETENTION',
      '3600000',
      'DUPLICATE_POLICY',
      'BLOCK',
      'LABELS',
      'type',
      'fraud_score',
    ]);
    expect(creates.map((c) => c[1])).toEqual([
      'fraud-ts',
      'fraud-ts:count:10s',
      'fraud-ts:avg:10s',
      'fraudulent_ts',
      'fraudulent_ts:count:10s',
      'fraudulent_ts:avg:10s',
      'non-fraudulent_ts',
      'non-fraudulent_ts:count:10s',
      'non-fraudulent_ts:avg:10s',
    ]);
    const rules = commands.filter((c) => c[0] === 'TS.CREATERULE');
    expect(rules).toContainEqual([
      'TS.CREATERULE',
      'fraudulent_ts',
      'fraudulent_ts:count:10s',
      'AGGREGATION',
      'count',
      '10000',
    ]);
    expect(rules).toContainEqual([
      'TS.CREATERULE',
      'fraud-ts',
      'fraud-ts:avg:10s',
      'AGGREGATION',
      'avg',
      '10000',
    ]);
    expect(rules).toHaveLength(6);
    // Every rule's target is created before the rule that writes into it.
    for (const rule of rules) {
      expect(commands.findIndex((c) => c[0] === 'TS.CREATE' && c[1] === rule[2])).toBeLessThan(
        commands.indexOf(rule),
      );
    }
  });

  it('creates no compaction rules where source and target may be in different slots', () => {
    const commands = timeSeriesSetupCommands(keys, 1_000, false);
    expect(commands.map((c) => c[1])).toEqual(['fraud-ts', 'fraudulent_ts', 'non-fraudulent_ts']);
  });

  it('builds TS.RANGE with epoch-aligned aggregation', () => {
    expect(timeSeriesRangeCommand('fraud-ts', 1000.7, 5000)).toEqual([
      'TS.RANGE',
      'fraud-ts',
      '1000',
      '5000',
    ]);
    expect(timeSeriesRangeCommand('fraud-ts', 0, 60_000, { bucketMs: 10_000, type: 'max' })).toEqual([
      'TS.RANGE',
      'fraud-ts',
      '0',
      '60000',
      'ALIGN',
      '0',
      'AGGREGATION',
      'max',
      '10000',
    ]);
  });

  it('reads documents with JSON.GET NOESCAPE . (legacy root path) on the module layout and GET on core', () => {
    expect(getDocumentCommand('modules', 'k')).toEqual(['JSON.GET', 'k', 'NOESCAPE', '.']);
    expect(getDocumentCommand('core', 'k')).toEqual(['GET', 'k']);
    expect(parseDocumentReply('{"key":"a","v":0.10000000000000001}')).toEqual({ key: 'a', v: 0.1 });
    expect(parseDocumentReply(null)).toBeUndefined();
  });

  it('detects modules from MODULE LIST and from COMMAND INFO', () => {
    const stack = [
      ['name', 'ReJSON', 'ver', 20609, 'path', '/opt/rejson.so', 'args', []],
      ['name', 'timeseries', 'ver', 11011, 'path', '/opt/ts.so', 'args', []],
    ];
    expect(modulesFromModuleList(stack)).toEqual({ json: true, timeSeries: true });
    expect(modulesFromModuleList([stack[1]])).toEqual({ json: false, timeSeries: true });
    expect(modulesFromModuleList([])).toEqual({ json: false, timeSeries: false });
    expect(
      modulesFromCommandInfo([
        ['json.set', -4],
        ['ts.add', -4],
      ]),
    ).toEqual({ json: true, timeSeries: true });
    expect(modulesFromCommandInfo([null, null])).toEqual({ json: false, timeSeries: false });
    expect(modulesFromCommandInfo([['json.set', -4], null])).toEqual({ json: true, timeSeries: false });
  });

  it('validates options once, with ConfigError', () => {
    expect(resolveRedisStoreOptions().prefix).toBe('fraudstream:');
    expect(resolveRedisStoreOptions().seriesRetentionMs).toBe(3_600_000);
    expect(() => resolveRedisStoreOptions({ prefix: 'a{b}' })).toThrow(ConfigError);
    expect(() => resolveRedisStoreOptions({ maxAlerts: 0 })).toThrow(ConfigError);
    expect(() => resolveRedisStoreOptions({ shards: 1.5 })).toThrow(ConfigError);
    expect(() => resolveRedisStoreOptions({ transactionTtlSeconds: -1 })).toThrow(ConfigError);
    expect(() => resolveRedisStoreOptions({ layout: 'stack' as 'auto' })).toThrow(ConfigError);
  });
});
