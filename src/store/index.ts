export type { MemoryStoreOptions } from './memory.js';
export { DEFAULT_MEMORY_STORE_OPTIONS, MemoryStore, resolveMemoryStoreOptions } from './memory.js';
export type { RedisStoreLayout, RedisStoreOptions } from './redis/index.js';
export { DEFAULT_REDIS_STORE_OPTIONS, RedisStore, resolveRedisStoreOptions } from './redis/index.js';
export { isSearchCursor } from './search.js';
export { TimeSeriesBuffer } from './series.js';
export type {
  Alert,
  CounterBucket,
  CounterIntervalMs,
  DeadLetter,
  Decision,
  PersistResult,
  Reason,
  ScoredTransaction,
  ScoreSeriesName,
  SeriesAggregation,
  SeriesPoint,
  Store,
  TransactionPage,
  TransactionQuery,
} from './types.js';
export { COUNTER_INTERVALS_MS, DECISIONS, MAX_SEARCH_LIMIT, SCORE_SERIES, toAlert } from './types.js';
