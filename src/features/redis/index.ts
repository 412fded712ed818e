/**
 * Redis implementation of the `transactions` feature set's window state: one Lua call per batch
 * on a single server, one per hash tag on a cluster. Keys and cluster semantics: see
 * `window-state.ts`.
 */

export type { RedisCardHistoryOptions } from './card-history.js';
export { DEFAULT_REDIS_CARD_HISTORY_OPTIONS, RedisCardHistoryState } from './card-history.js';
export type { RedisWindowStateOptions } from './window-state.js';
export {
  DEFAULT_REDIS_WINDOW_STATE_OPTIONS,
  keyFingerprint,
  RedisWindowState,
  resolveRedisWindowStateOptions,
  tagOf,
} from './window-state.js';
