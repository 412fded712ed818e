/**
 * Redis implementation of the store: one Lua call per store shard per batch, idempotent by
 * record key, RedisJSON/RedisTimeSeries when the server has them, core types otherwise.
 * Key layout: see `layout.ts`.
 */
export {
  COMPACTION_RULES,
  getDocumentCommand,
  modulesFromCommandInfo,
  modulesFromModuleList,
  parseDocumentReply,
  RedisStoreKeys,
  SERIES_LABELS,
  timeSeriesRangeCommand,
  timeSeriesSetupCommands,
} from './layout.js';
export type {
  RedisStoreLayout,
  RedisStoreLayoutOption,
  RedisStoreOptions,
  ResolvedRedisStoreOptions,
} from './options.js';
export { DEFAULT_REDIS_STORE_OPTIONS, REDIS_STORE_LAYOUTS, resolveRedisStoreOptions } from './options.js';
export { STORE_SCRIPT, TS_ADD_SCRIPT } from './scripts.js';
export { detectModules, RedisStore } from './store.js';
