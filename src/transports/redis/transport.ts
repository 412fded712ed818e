/**
 * The transport object: one command connection shared by its writers and readers, plus the
 * one-off openers that give a writer or reader its own connection.
 */
import { ClosedError } from '../../errors/index.js';
import { openRedisConnection, type RedisCommandConnection } from '../../redis/index.js';
import type { ReadOptions } from '../types.js';
import {
  type RedisStreamOptions,
  type ResolvedRedisStreamOptions,
  resolveRedisStreamOptions,
} from './options.js';
import { RedisStreamReader } from './reader.js';
import { RedisStreamWriter } from './writer.js';

/**
 * Owns one connection shared by its writers and readers. Use {@link RedisStreamTransport.connect}
 * (or {@link openRedisStreamWriter} / {@link openRedisStreamReader} for one-off use).
 */
export class RedisStreamTransport {
  readonly options: ResolvedRedisStreamOptions;
  private readonly connection: RedisCommandConnection;
  private readonly readers = new Set<RedisStreamReader>();
  private closed = false;

  private constructor(options: ResolvedRedisStreamOptions, connection: RedisCommandConnection) {
    this.options = options;
    this.connection = connection;
  }

  /** Validates options (throws {@link ConfigError}) and connects. */
  static async connect(options: RedisStreamOptions = {}): Promise<RedisStreamTransport> {
    const resolved = resolveRedisStreamOptions(options);
    return new RedisStreamTransport(resolved, await openRedisConnection(resolved.connection));
  }

  /** A writer on the shared connection; its `close()` leaves the connection to the transport. */
  writer(): RedisStreamWriter {
    if (this.closed) throw new ClosedError('RedisStreamTransport is closed');
    return new RedisStreamWriter(this.options, this.connection, async () => {});
  }

  /** A reader on the shared connection (plus its own blocking connection on a single server). */
  reader(readOptions: ReadOptions = {}): RedisStreamReader {
    if (this.closed) throw new ClosedError('RedisStreamTransport is closed');
    const reader = new RedisStreamReader(this.options, this.connection, readOptions, async () => {
      this.readers.delete(reader);
    });
    this.readers.add(reader);
    return reader;
  }

  /** Closes all readers, then the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.readers].map((reader) => reader.close()));
    await this.connection.close();
  }
}

/** Opens a writer with its own connection, closed by the writer's `close()`. */
export async function openRedisStreamWriter(options: RedisStreamOptions = {}): Promise<RedisStreamWriter> {
  const resolved = resolveRedisStreamOptions(options);
  const connection = await openRedisConnection(resolved.connection);
  return new RedisStreamWriter(resolved, connection, () => connection.close());
}

/** Opens a reader with its own connections, closed by the reader's `close()`. */
export async function openRedisStreamReader(
  options: RedisStreamOptions = {},
  readOptions: ReadOptions = {},
): Promise<RedisStreamReader> {
  const resolved = resolveRedisStreamOptions(options);
  const connection = await openRedisConnection(resolved.connection);
  return new RedisStreamReader(resolved, connection, readOptions, () => connection.close());
}
