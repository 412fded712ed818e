/**
 * Redis plumbing shared by the Redis transport, store and feature state: one connection
 * interface for a single server and a cluster (raw commands routed by key, pipelined per tick),
 * and Lua scripts run by EVALSHA with a NOSCRIPT fallback.
 */
export type {
  BlockingRedisConnection,
  RedisCommandConnection,
  RedisConnectionOptions,
  SendOptions,
} from './connection.js';
export {
  DEFAULT_REDIS_URL,
  isTransientRedisError,
  openRedisConnection,
  redactRedisUrl,
} from './connection.js';
export type { CappedPayload } from './payload.js';
export { capPayload } from './payload.js';
export type { RedisCommandSender } from './script.js';
export { asStoreError, RedisScript } from './script.js';
