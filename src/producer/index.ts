/**
 * The producer: reads a {@link Source} and publishes its records to a stream, with pacing.
 *
 * Transactions are serialised in the lab envelope or native JSON; recorded payloads
 * (`jsonl:PATH`) are passed on byte-for-byte, so captured traffic — malformed lines included —
 * reaches consumers exactly as it was sent.
 */
import { ConfigError } from '../errors/index.js';
import { type Transaction, toLabEnvelope, toNativeJson } from '../events/index.js';
import { Random } from '../random/index.js';
import type { Source } from '../sources/index.js';
import type { OutgoingRecord, StreamWriter } from '../transports/index.js';

/** How fast records are sent. */
export type Pacing =
  /** As fast as the transport accepts them. */
  | { kind: 'max' }
  /** A steady rate, in records per second. */
  | { kind: 'rate'; perSecond: number }
  /** The reference lab's `producer2.py`: sleep Poisson(1) + U(0,1) seconds between records. */
  | { kind: 'lab' };

/**
 * Wire format for transactions. `auto` sends the lab envelope for records that carry the 30
 * Kaggle columns (the lab's data path) and native JSON for everything else.
 */
export type ProduceFormat = 'auto' | 'lab' | 'native';

export interface ProduceProgress {
  sent: number;
  errors: number;
  elapsedMs: number;
}

export interface ProduceOptions {
  /** @default 'auto' */
  format?: ProduceFormat;
  /** @default { kind: 'max' } */
  pacing?: Pacing;
  /** Stop after this many records; unbounded sources need it. @default undefined (all) */
  count?: number;
  /**
   * Records per publish call at `max` pacing (rate pacing sends smaller batches to keep the rate smooth).
   * @default 500
   */
  batchSize?: number;
  /** Seed of the lab pacing's random sleeps. @default 42 */
  seed?: number;
  /** Called about every `progressEveryMs` and once at the end. */
  onProgress?: (progress: ProduceProgress) => void;
  /** @default 250 */
  progressEveryMs?: number;
  /** Stops producing early; what was sent stays sent. */
  signal?: AbortSignal;
  /**
   * Stamp each transaction with the time it is sent instead of its recorded event time, as the
   * reference lab does (`datetime.now()`). Recorded raw payloads are never changed.
   * @default false
   */
  stampNow?: boolean;
}

export interface ProduceSummary extends ProduceProgress {
  /** Reasons of records that could not be serialised, with counts. */
  errorReasons: Record<string, number>;
}

export const DEFAULT_PRODUCE_OPTIONS = {
  format: 'auto',
  pacing: { kind: 'max' },
  batchSize: 500,
  seed: 42,
  progressEveryMs: 250,
  stampNow: false,
} as const;

function resolveProduceOptions(options: ProduceOptions) {
  const o = { ...DEFAULT_PRODUCE_OPTIONS, ...options };
  if (!['auto', 'lab', 'native'].includes(o.format)) {
    throw new ConfigError(`format must be auto, lab or native, got ${String(o.format)}`);
  }
  if (o.pacing.kind === 'rate' && !(o.pacing.perSecond > 0)) {
    throw new ConfigError(`rate must be a positive number of records per second, got ${o.pacing.perSecond}`);
  }
  if (o.count !== undefined && !(Number.isInteger(o.count) && o.count >= 0)) {
    throw new ConfigError(`count must be a non-negative integer, got ${o.count}`);
  }
  if (!(Number.isInteger(o.batchSize) && o.batchSize >= 1)) {
    throw new ConfigError(`batchSize must be a positive integer, got ${o.batchSize}`);
  }
  return o;
}

/**
 * Serialises a transaction for the wire. Throws when the transaction cannot be expressed in the
 * format (the lab envelope needs the 30 Kaggle columns); the producer counts and reports those.
 */
export function serializeTransaction(tx: Transaction, format: ProduceFormat): string {
  if (format === 'native') return toNativeJson(tx);
  if (hasLabColumns(tx)) return toLabEnvelope(tx);
  if (format === 'lab') {
    // Writing zeros for absent V columns would fabricate data the models then trust.
    throw new Error(
      'the lab envelope needs the 30 Kaggle columns (Time, V1..V28, Amount); use --format native',
    );
  }
  return toNativeJson(tx);
}

function hasLabColumns(tx: Transaction): boolean {
  return tx.format === 'lab' || (tx.features !== undefined && 'V28' in tx.features && 'Time' in tx.features);
}

/** Publishes a source's records to a stream writer; resolves with what was sent. */
export async function produce(
  source: Source,
  writer: StreamWriter,
  options: ProduceOptions = {},
): Promise<ProduceSummary> {
  const o = resolveProduceOptions(options);
  const start = performance.now();
  const limit = o.count ?? Number.POSITIVE_INFINITY;
  const random = new Random(o.seed);
  const errorReasons: Record<string, number> = {};
  let sent = 0;
  let errors = 0;
  let lastProgress = start;
  const batchLimit = batchSizeFor(o.pacing, o.batchSize);
  let batch: OutgoingRecord[] = [];

  const progress = (): ProduceProgress => ({ sent, errors, elapsedMs: performance.now() - start });
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const out = batch;
    batch = [];
    await writer.publish(out);
    sent += out.length;
    const now = performance.now();
    if (o.onProgress && now - lastProgress >= o.progressEveryMs) {
      lastProgress = now;
      o.onProgress(progress());
    }
  };

  if (limit > 0) {
    for await (const record of source.records()) {
      if (o.signal?.aborted) break;
      if (record.kind === 'raw') {
        batch.push({ payload: record.payload, partitionKey: String(record.line) });
      } else {
        const tx = o.stampNow ? { ...record.transaction, timestampMs: Date.now() } : record.transaction;
        try {
          batch.push({ payload: serializeTransaction(tx, o.format), partitionKey: tx.cardId || tx.id });
        } catch (err) {
          errors++;
          const reason = err instanceof Error ? err.message : String(err);
          errorReasons[reason] = (errorReasons[reason] ?? 0) + 1;
          if (sent + batch.length + errors >= limit) break;
          continue;
        }
      }
      const produced = sent + batch.length;
      if (batch.length >= batchLimit || produced >= limit) {
        await flush();
        if (o.pacing.kind === 'rate') {
          // Record i is due at start + i / rate, so short stalls are caught up smoothly.
          await sleepUntil(start + (sent * 1000) / o.pacing.perSecond, o.signal);
        } else if (o.pacing.kind === 'lab') {
          await sleep((random.poisson(1) + random.next()) * 1000, o.signal);
        }
      }
      if (produced >= limit) break;
    }
  }
  await flush();
  const summary = { ...progress(), errorReasons };
  o.onProgress?.(summary);
  return summary;
}

function batchSizeFor(pacing: Pacing, batchSize: number): number {
  if (pacing.kind === 'lab') return 1;
  // About 500 publishes a second (one per 2 ms) keeps the rate smooth without one call per record,
  // and small batches keep end-to-end latency low: a consumer never waits behind a 10 ms lump.
  if (pacing.kind === 'rate') return Math.max(1, Math.min(batchSize, Math.floor(pacing.perSecond / 500)));
  return batchSize;
}

function sleepUntil(atMs: number, signal?: AbortSignal): Promise<void> {
  return sleep(atMs - performance.now(), signal);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
