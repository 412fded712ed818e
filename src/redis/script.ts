import { createHash } from 'node:crypto';
import { ClientClosedError, ErrorReply } from 'redis';
import { StoreError, TransientStoreError } from '../errors/index.js';
import { isTransientRedisError, type SendOptions } from './connection.js';

/** The part of a Redis connection a script needs: one raw command routed by key. */
export interface RedisCommandSender {
  send<T>(key: string, args: readonly string[], options?: SendOptions): Promise<T>;
}

/**
 * A Lua script run with `EVALSHA`, falling back to `EVAL` (which also caches it) when the
 * server answers `NOSCRIPT`: after a restart, a failover, or on a cluster node that has not
 * seen it yet. Loading it up front with `SCRIPT LOAD` would not cover those cases anyway.
 */
export class RedisScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /**
   * Runs the script; `keys[0]` routes it on a cluster (every key must share its slot). `options`
   * as in {@link RedisCommandSender.send} (`binary` for scripts that return packed bytes).
   */
  async run<T>(
    connection: RedisCommandSender,
    keys: readonly string[],
    args: readonly string[],
    options?: SendOptions,
  ): Promise<T> {
    const route = keys[0] ?? '';
    const command: string[] = ['EVALSHA', this.sha, String(keys.length)];
    for (const k of keys) command.push(k);
    for (const a of args) command.push(a);
    try {
      return await connection.send<T>(route, command, options);
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
      command[0] = 'EVAL';
      command[1] = this.source;
      return connection.send<T>(route, command, options);
    }
  }
}

/**
 * Rethrows a failed Redis call as {@link TransientStoreError} when retrying may succeed, and any
 * other server reply (`ERR`, `OOM`, `NOSCRIPT`, a module's error) or use of a closed client as
 * {@link StoreError}: the server refused the command, not the record, so the consumer must hold
 * the batch rather than dead-letter it. Anything else (e.g. a record that cannot be serialized)
 * passes through unchanged.
 */
export function asStoreError(error: unknown, what: string): unknown {
  if (error instanceof ErrorReply || error instanceof ClientClosedError) {
    if (isTransientRedisError(error)) {
      return new TransientStoreError(`${what}: ${error.message}`, { cause: error });
    }
    return new StoreError(`${what}: ${error.message}`, { cause: error });
  }
  if (isTransientRedisError(error)) {
    return new TransientStoreError(`${what}: ${(error as Error).message}`, { cause: error });
  }
  return error;
}
