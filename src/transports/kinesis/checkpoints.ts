import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { ConfigError, TransientStoreError } from '../../errors/index.js';
import {
  asStoreError,
  openRedisConnection,
  type RedisCommandConnection,
  type RedisConnectionOptions,
  RedisScript,
} from '../../redis/index.js';
import { compareSequenceNumbers, errorMessage } from './common.js';
import type { KinesisCheckpointStore } from './options.js';

/**
 * Durable Kinesis checkpoints, so that a restarted consumer resumes where the last one stopped
 * instead of reading the whole stream again from the trim horizon. (The store is idempotent, so
 * re-reading loses nothing, but on a stream holding a day of traffic it can take hours.)
 *
 * Checkpoints never move backwards: a save older than the stored checkpoint is ignored, so two
 * consumers of one stream (which each read every shard: there is no lease coordination) cannot
 * make a restart replay what both already processed.
 */

function isNewer(candidate: string, current: string | undefined): boolean {
  return current === undefined || compareSequenceNumbers(candidate, current) > 0;
}

/** The Kinesis API's pattern for a sequence number. */
function isSequenceNumber(value: unknown): value is string {
  return typeof value === 'string' && /^(0|[1-9][0-9]{0,128})$/.test(value);
}

/**
 * Checkpoints in a JSON file `{ "<shardId>": "<sequenceNumber>" }`, for a single consumer on one
 * machine. Each save rewrites the file atomically (temporary file, then rename), so a crash
 * leaves the previous or the new content, never a torn file.
 */
export class FileCheckpointStore implements KinesisCheckpointStore {
  private checkpoints: Map<string, string> | undefined;
  /** Saves are chained so that the file is written by one save at a time, in order. */
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  async load(shardId: string): Promise<string | undefined> {
    return (await this.read()).get(shardId);
  }

  async save(shardId: string, sequenceNumber: string): Promise<void> {
    const checkpoints = await this.read();
    if (!isNewer(sequenceNumber, checkpoints.get(shardId))) return;
    checkpoints.set(shardId, sequenceNumber);
    const body = `${JSON.stringify(Object.fromEntries(checkpoints), null, 2)}\n`;
    const write = this.writing.then(async () => {
      const temporary = `${this.path}.${randomBytes(6).toString('hex')}.tmp`;
      await writeFile(temporary, body);
      await rename(temporary, this.path);
    });
    // A failed write must not block the next one; this one still reports its error.
    this.writing = write.catch(() => {});
    try {
      await write;
    } catch (error) {
      throw new TransientStoreError(
        `writing Kinesis checkpoints to ${this.path} failed: ${errorMessage(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  private async read(): Promise<Map<string, string>> {
    if (this.checkpoints) return this.checkpoints;
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new ConfigError(`cannot read Kinesis checkpoints ${this.path}: ${errorMessage(error)}`, {
          cause: error,
        });
      }
      text = '{}';
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(`Kinesis checkpoints ${this.path} is not JSON`, { cause: error });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError(
        `Kinesis checkpoints ${this.path} must be an object of shard ids to sequence numbers`,
      );
    }
    const checkpoints = new Map<string, string>();
    for (const [shard, sequence] of Object.entries(parsed)) {
      if (!isSequenceNumber(sequence)) {
        throw new ConfigError(
          `Kinesis checkpoints ${this.path}: shard ${shard} has no valid sequence number`,
        );
      }
      checkpoints.set(shard, sequence);
    }
    this.checkpoints ??= checkpoints;
    return this.checkpoints;
  }
}

/**
 * Sets the shard's field only when the new sequence number is higher. Sequence numbers are
 * decimal strings without leading zeros: compared by length, then by text, as
 * compareSequenceNumbers does.
 */
const SAVE_IF_NEWER = new RedisScript(`
local current = redis.call('HGET', KEYS[1], ARGV[1])
local candidate = ARGV[2]
if current then
  if #candidate < #current or (#candidate == #current and candidate <= current) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], candidate)
return 1
`);

/**
 * Checkpoints in a Redis hash (one field per shard), next to the Redis store: any consumer that
 * takes over the stream, on any machine, resumes from them.
 */
export class RedisCheckpointStore implements KinesisCheckpointStore {
  private constructor(
    private readonly connection: RedisCommandConnection,
    /** The hash holding the checkpoints. */
    readonly key: string,
  ) {}

  /** Connects to Redis; `key` names the hash (e.g. `fraudstream:kinesis:checkpoints:<stream>`). */
  static async connect(options: RedisConnectionOptions & { key: string }): Promise<RedisCheckpointStore> {
    const { key, ...connection } = options;
    if (!key) throw new ConfigError('Redis checkpoint store needs a key');
    return new RedisCheckpointStore(await openRedisConnection(connection), key);
  }

  async load(shardId: string): Promise<string | undefined> {
    try {
      const value = await this.connection.send<string | null>(this.key, ['HGET', this.key, shardId]);
      return value ?? undefined;
    } catch (error) {
      throw asStoreError(error, 'loading a Kinesis checkpoint');
    }
  }

  async save(shardId: string, sequenceNumber: string): Promise<void> {
    try {
      await SAVE_IF_NEWER.run(this.connection, [this.key], [shardId, sequenceNumber]);
    } catch (error) {
      throw asStoreError(error, 'saving a Kinesis checkpoint');
    }
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}
