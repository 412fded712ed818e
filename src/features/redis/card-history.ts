/**
 * {@link CardHistoryState} in Redis: the `transactions-plus` feature set's per-card history
 * shared by every consumer, updated and read by one Lua script (`card-history-scripts.ts`),
 * separate from the window state's scripts.
 *
 * Keys, with prefix `P` (the hash tag keeps a card's two keys in one slot):
 * - `P hist:{<cardId>}`: sorted set, score = event time, member
 *   `<time>|<amount>|<terminal length>|<terminal><key>`;
 * - `P hwm:{<cardId>}`: the card's watermark (largest event time seen).
 * Both get a `PEXPIRE` of the horizon when touched, so idle cards disappear on their own. The
 * watermark is per card, so a cluster runs one call per card with exactly the single-server
 * semantics; on a single server a batch is one call.
 */
import { ConfigError } from '../../errors/index.js';
import { asStoreError, openRedisConnection, type RedisCommandConnection } from '../../redis/index.js';
import type { RedisConnectionOptions } from '../../transports/index.js';
import {
  CARD_HISTORY_STRIDE,
  type CardHistoryConfig,
  type CardHistoryOptions,
  type CardHistoryState,
  resolveCardHistoryOptions,
} from '../card-history.js';
import type { WindowEvent } from '../types.js';
import { DAY_MS } from '../window-state.js';
import { CARD_HISTORY_PEEK_SCRIPT, CARD_HISTORY_SCRIPT } from './card-history-scripts.js';
import { tagOf } from './window-state.js';

/** Options of {@link RedisCardHistoryState}. */
export interface RedisCardHistoryOptions extends CardHistoryOptions, RedisConnectionOptions {
  /**
   * Prefix of every key; must not contain `{` or `}`.
   * @default 'fraudstream:fs:'
   */
  prefix?: string;
}

export const DEFAULT_REDIS_CARD_HISTORY_OPTIONS = { prefix: 'fraudstream:fs:' } as const;

interface Group {
  keys: string[];
  keyIndex: Map<string, number>;
  args: string[];
  events: number[];
}

/** The Redis {@link CardHistoryState}; see the module documentation for keys. */
export class RedisCardHistoryState implements CardHistoryState {
  readonly config: CardHistoryConfig;
  private readonly singleServer: boolean;
  private readonly horizonText: string;

  private constructor(
    private readonly connection: RedisCommandConnection,
    config: CardHistoryConfig,
    private readonly prefix: string,
  ) {
    this.config = config;
    this.singleServer = connection.kind === 'standalone';
    this.horizonText = String(config.horizonDays * DAY_MS);
  }

  /** Connects to Redis (single server or cluster). */
  static async connect(options: RedisCardHistoryOptions = {}): Promise<RedisCardHistoryState> {
    const config = resolveCardHistoryOptions(options);
    const prefix = options.prefix ?? DEFAULT_REDIS_CARD_HISTORY_OPTIONS.prefix;
    if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
      throw new ConfigError(
        `redis card history prefix must be a string without '{' or '}', got ${String(prefix)}`,
      );
    }
    const connection = await openRedisConnection(options);
    return new RedisCardHistoryState(connection, config, prefix);
  }

  async updateAndRead(events: readonly WindowEvent[], out: Float64Array): Promise<void> {
    await this.run(CARD_HISTORY_SCRIPT, events, out, 'update');
  }

  /** Read-only twin of {@link updateAndRead} (same groups and arguments, a script that writes nothing). */
  async peek(events: readonly WindowEvent[], out: Float64Array): Promise<void> {
    await this.run(CARD_HISTORY_PEEK_SCRIPT, events, out, 'peek');
  }

  private async run(
    script: typeof CARD_HISTORY_SCRIPT,
    events: readonly WindowEvent[],
    out: Float64Array,
    what: string,
  ): Promise<void> {
    if (out.length < events.length * CARD_HISTORY_STRIDE) {
      throw new ConfigError(`out holds ${out.length} numbers, need ${events.length * CARD_HISTORY_STRIDE}`);
    }
    const groups = new Map<string, Group>();
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (e.cardId === '') {
        out.fill(Number.NaN, i * CARD_HISTORY_STRIDE, (i + 1) * CARD_HISTORY_STRIDE);
        continue;
      }
      const tag = tagOf(e.cardId);
      const id = this.singleServer ? '' : tag;
      let g = groups.get(id);
      if (g === undefined) {
        g = { keys: [], keyIndex: new Map(), args: [], events: [] };
        groups.set(id, g);
      }
      let k = g.keyIndex.get(tag);
      if (k === undefined) {
        k = g.keys.length + 1;
        g.keyIndex.set(tag, k);
        g.keys.push(`${this.prefix}hist:{${tag}}`, `${this.prefix}hwm:{${tag}}`);
      }
      g.args.push(String(k), e.key, String(e.timestampMs), String(e.amount), e.terminalId);
      g.events.push(i);
    }
    const calls: Promise<void>[] = [];
    for (const g of groups.values()) {
      calls.push(
        script
          .run<string>(this.connection, g.keys, [this.horizonText, String(g.events.length), ...g.args])
          .then((values) => {
            const parts = values.split(',');
            let p = 0;
            for (const i of g.events) {
              const o = i * CARD_HISTORY_STRIDE;
              for (let j = 0; j < CARD_HISTORY_STRIDE; j++) out[o + j] = Number(parts[p++]);
            }
          }),
      );
    }
    try {
      await Promise.all(calls);
    } catch (error) {
      throw asStoreError(error, `redis card history: ${what} failed`);
    }
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}
