import { FraudstreamError, StallError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import { describeError, isStoreFailure } from './failures.js';

/** Thrown by {@link StoreRetry.run} when the consumer stops while the store fails: the batch stays unacknowledged. */
export class BatchAbandoned extends FraudstreamError {
  override name = 'BatchAbandoned';
}

/** The stall figures {@link StoreRetry} keeps up to date (part of the consumer's stats). */
export interface StallStats {
  storeRetries: number;
  stalledSinceMs: number | undefined;
  lastStoreError: string | undefined;
}

export interface StoreRetryOptions {
  backoffMs: number;
  maxBackoffMs: number;
  /** 0 = wait forever. */
  maxStallMs: number;
  logger: Logger;
  stats: StallStats;
  stopping: () => boolean;
}

/**
 * Holds a batch step while the store fails, instead of giving the batch back to the transport
 * (whose redeliveries would count towards `max-deliveries` and dead-letter valid traffic):
 * retries it with back-off doubling from `backoffMs` to `maxBackoffMs`, logs one error line per
 * retry, and keeps the stall in the stats for metrics and the dashboard. Errors that are not
 * store failures pass through (the consumer bisects for those).
 */
export class StoreRetry {
  /** Steps currently held (features and a commit may both be). */
  private held = 0;
  /** Back-off sleeps in progress (a features step and a commit may both sleep). */
  private readonly sleeping = new Set<() => void>();

  constructor(private readonly o: StoreRetryOptions) {}

  /**
   * Runs `step` until it succeeds. Throws {@link BatchAbandoned} when the consumer stops during
   * a stall and a `StallError` once the store has failed for `maxStallMs`.
   */
  async run<T>(what: string, records: number, step: () => Promise<T>): Promise<T> {
    const { stats, logger: log } = this.o;
    let backoffMs = 0;
    try {
      for (;;) {
        try {
          const value = await step();
          if (backoffMs > 0) log.info({ step: what, records }, 'store recovered; batch continues');
          return value;
        } catch (err) {
          if (!isStoreFailure(err)) throw err;
          const now = Date.now();
          if (backoffMs === 0 && this.held++ === 0) stats.stalledSinceMs = now;
          backoffMs = Math.min(this.o.maxBackoffMs, backoffMs > 0 ? backoffMs * 2 : this.o.backoffMs);
          stats.storeRetries++;
          stats.lastStoreError = describeError(err);
          const stalledMs = now - (stats.stalledSinceMs ?? now);
          log.error(
            { step: what, err: stats.lastStoreError, records, retryInMs: backoffMs, stalledMs },
            'store failed; holding the batch (nothing dead-lettered) and retrying',
          );
          if (this.o.maxStallMs > 0 && stalledMs >= this.o.maxStallMs)
            throw new StallError(stalledMs, { cause: err });
          if (this.o.stopping()) throw new BatchAbandoned(`${what}: ${records} records left unacknowledged`);
          await this.pause(backoffMs);
          if (this.o.stopping()) throw new BatchAbandoned(`${what}: ${records} records left unacknowledged`);
        }
      }
    } finally {
      if (backoffMs > 0 && --this.held === 0) stats.stalledSinceMs = undefined;
    }
  }

  /** Ends a back-off sleep early (the consumer is stopping). */
  wake(): void {
    for (const done of [...this.sleeping]) done();
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.sleeping.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleeping.add(done);
    });
  }
}
