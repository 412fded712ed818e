export type { CardHistoryConfig, CardHistoryOptions, CardHistoryState } from './card-history.js';
export {
  CARD_HISTORY_FIELDS,
  CARD_HISTORY_STRIDE,
  DEFAULT_CARD_HISTORY_OPTIONS,
  MemoryCardHistoryState,
  resolveCardHistoryOptions,
} from './card-history.js';
export type { FeatureSetOptions } from './feature-sets.js';
export {
  CREDITCARD_FEATURE_NAMES,
  createFeatureSet,
  DEFAULT_FEATURE_SET_OPTIONS,
  isNightUtc,
  isWeekendUtc,
  resolveFeatureSetOptions,
  TRANSACTIONS_FEATURE_NAMES,
  TRANSACTIONS_PLUS_EXTRA_NAMES,
  TRANSACTIONS_PLUS_FEATURE_NAMES,
  transactionsFeatureNames,
} from './feature-sets.js';
export type { RedisCardHistoryOptions, RedisWindowStateOptions } from './redis/index.js';
export {
  DEFAULT_REDIS_CARD_HISTORY_OPTIONS,
  DEFAULT_REDIS_WINDOW_STATE_OPTIONS,
  RedisCardHistoryState,
  RedisWindowState,
  resolveRedisWindowStateOptions,
} from './redis/index.js';
export type { ReplayProgress, TrainingSet, TrainingSetOptions } from './replay.js';
export {
  buildTrainingSet,
  DEFAULT_TRAINING_SET_OPTIONS,
  feedbackFor,
  resolveTrainingSetOptions,
} from './replay.js';
export type { FeatureSet, FeatureSetName, WindowEvent, WindowState, WindowStateConfig } from './types.js';
export { FEATURE_SET_NAMES } from './types.js';
export type { WindowStateOptions } from './window-state.js';
export {
  DAY_MS,
  DEFAULT_WINDOW_STATE_OPTIONS,
  MemoryWindowState,
  resolveWindowStateOptions,
  windowAggregateCount,
} from './window-state.js';
