export type { MemoryStoreOptions } from './memory.js';
export { DEFAULT_MEMORY_STORE_OPTIONS, MemoryStore, resolveMemoryStoreOptions } from './memory.js';
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
} from './types.js';
export { COUNTER_INTERVALS_MS, DECISIONS, SCORE_SERIES } from './types.js';
