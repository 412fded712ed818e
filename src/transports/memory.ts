import { BackpressureError, ClosedError, ConfigError } from '../errors/index.js';
import {
  type DeliveredRecord,
  type OutgoingRecord,
  type ReadOptions,
  resolveReadOptions,
  type StreamReader,
  type StreamWriter,
} from './types.js';

/** What a full {@link MemoryTransport} does to a producer. */
export type FullPolicy = 'block' | 'reject';

export interface MemoryTransportOptions {
  /**
   * Most records held at once, queued plus delivered-but-unacknowledged. Bounding both keeps
   * memory flat when consumers fall behind: producers feel the backpressure instead.
   * @default 100000
   */
  capacity?: number;
  /**
   * `'block'`: `publish` waits until consumers acknowledge enough records to make room.
   * `'reject'`: `publish` fails at once with a {@link BackpressureError} and writes nothing.
   * @default 'block'
   */
  onFull?: FullPolicy;
}

export const DEFAULT_MEMORY_TRANSPORT_OPTIONS = {
  capacity: 100_000,
  onFull: 'block',
} as const satisfies Required<MemoryTransportOptions>;

export function resolveMemoryTransportOptions(
  options: MemoryTransportOptions = {},
): Required<MemoryTransportOptions> {
  const resolved = { ...DEFAULT_MEMORY_TRANSPORT_OPTIONS, ...options };
  if (!Number.isInteger(resolved.capacity) || resolved.capacity < 1) {
    throw new ConfigError(`memory transport capacity must be a positive integer, got ${resolved.capacity}`);
  }
  if (resolved.onFull !== 'block' && resolved.onFull !== 'reject') {
    throw new ConfigError(
      `memory transport onFull must be 'block' or 'reject', got ${String(resolved.onFull)}`,
    );
  }
  return resolved;
}

interface Entry {
  record: DeliveredRecord;
}

/**
 * An in-process stream for the embedded default: one queue shared by any number of writers and
 * competing readers (like one consumer group). At-least-once like the real transports: a
 * delivered record stays in flight until acknowledged, and comes back on `release` or when its
 * reader closes without acknowledging it.
 *
 * Unlike a network stream it can end: after {@link MemoryTransport.end}, readers finish their
 * iteration once everything has been acknowledged — so a file can be scored to completion.
 */
export class MemoryTransport {
  private readonly options: Required<MemoryTransportOptions>;
  /** Records waiting for delivery; `head` avoids O(n) shifts. Redeliveries go to `retry` first. */
  private queue: Entry[] = [];
  private head = 0;
  private retry: Entry[] = [];
  private readonly inFlight = new Map<string, Entry>();
  private sequence = 0;
  private ended = false;
  private closed = false;
  private dataWaiters = new Set<() => void>();
  private spaceWaiters: Array<() => void> = [];
  private acknowledged = 0;

  constructor(options: MemoryTransportOptions = {}) {
    this.options = resolveMemoryTransportOptions(options);
  }

  /** Records queued, not yet delivered. */
  get queued(): number {
    return this.queue.length - this.head + this.retry.length;
  }

  /** Records delivered but not yet acknowledged. */
  get pending(): number {
    return this.inFlight.size;
  }

  /** Records acknowledged since creation. */
  get acked(): number {
    return this.acknowledged;
  }

  /** A writer appending to this stream. */
  writer(): StreamWriter {
    return {
      publish: (records) => this.publish(records),
      close: async () => {},
    };
  }

  /** A reader competing with other readers of this stream for records. */
  reader(options: ReadOptions = {}): StreamReader {
    return new MemoryStreamReader(this, resolveReadOptions(options));
  }

  /** No more records will be published; readers stop once all delivered records are acknowledged. */
  end(): void {
    this.ended = true;
    this.wakeReaders();
  }

  /** Ends the stream and stops all readers at once; blocked producers fail with {@link ClosedError}. */
  close(): void {
    this.closed = true;
    this.ended = true;
    this.wakeReaders();
    this.wakeWriters();
  }

  private get held(): number {
    return this.queued + this.inFlight.size;
  }

  private async publish(records: readonly OutgoingRecord[]): Promise<void> {
    if (this.ended) throw new ClosedError('cannot publish: the memory stream has ended');
    const { capacity, onFull } = this.options;
    if (onFull === 'reject' && this.held + records.length > capacity) {
      throw new BackpressureError(
        `memory stream is full (${this.held} of ${capacity} records held); nothing was written`,
      );
    }
    let i = 0;
    while (i < records.length) {
      while (this.held >= capacity) {
        await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
        if (this.closed) throw new ClosedError('memory stream closed while a producer waited for room');
      }
      const room = Math.min(capacity - this.held, records.length - i);
      const now = Date.now();
      for (let j = 0; j < room; j++, i++) {
        const record = records[i]!;
        this.queue.push({
          record: {
            payload: record.payload,
            position: String(++this.sequence),
            deliveries: 0,
            enqueuedAtMs: now,
          },
        });
      }
      this.wakeReaders();
    }
  }

  /** @internal Takes up to `max` records for delivery, or `undefined` when the stream is finished. */
  take(max: number): DeliveredRecord[] | undefined {
    if (this.closed) return undefined;
    const batch: DeliveredRecord[] = [];
    while (batch.length < max && this.retry.length > 0) batch.push(this.deliver(this.retry.shift()!));
    while (batch.length < max && this.head < this.queue.length) {
      const entry = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Entry;
      batch.push(this.deliver(entry));
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (batch.length === 0 && this.ended && this.inFlight.size === 0) return undefined;
    return batch;
  }

  private deliver(entry: Entry): DeliveredRecord {
    const record = { ...entry.record, deliveries: entry.record.deliveries + 1 };
    entry.record = record;
    this.inFlight.set(record.position, entry);
    return record;
  }

  /** @internal */
  acknowledge(records: readonly DeliveredRecord[]): void {
    for (const r of records) if (this.inFlight.delete(r.position)) this.acknowledged++;
    this.wakeWriters();
    if (this.ended) this.wakeReaders();
  }

  /** @internal Puts in-flight records back at the front, oldest first, for redelivery. */
  giveBack(records: readonly DeliveredRecord[]): void {
    const back: Entry[] = [];
    for (const r of records) {
      const entry = this.inFlight.get(r.position);
      if (entry) {
        this.inFlight.delete(r.position);
        back.push(entry);
      }
    }
    if (back.length === 0) return;
    this.retry.push(...back);
    this.wakeReaders();
  }

  /** @internal Resolves when records may be available, the stream changed state, or after `ms`. */
  waitForData(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.dataWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.dataWaiters.add(done);
    });
  }

  /** @internal */
  hasData(): boolean {
    return this.queued > 0 || this.closed || (this.ended && this.inFlight.size === 0);
  }

  private wakeReaders(): void {
    for (const w of [...this.dataWaiters]) w();
  }

  private wakeWriters(): void {
    const waiters = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const w of waiters) w();
  }
}

class MemoryStreamReader implements StreamReader {
  private closed = false;
  private readonly delivered = new Map<string, DeliveredRecord>();
  private wake: (() => void) | undefined;

  constructor(
    private readonly stream: MemoryTransport,
    private readonly options: Required<ReadOptions>,
  ) {}

  async *[Symbol.asyncIterator](): AsyncIterator<readonly DeliveredRecord[]> {
    while (!this.closed) {
      if (!this.stream.hasData()) {
        await Promise.race([
          this.stream.waitForData(this.options.maxWaitMs),
          new Promise<void>((resolve) => {
            this.wake = resolve;
          }),
        ]);
        this.wake = undefined;
        if (this.closed) return;
      }
      const batch = this.stream.take(this.options.maxBatch);
      if (batch === undefined) return;
      for (const r of batch) this.delivered.set(r.position, r);
      yield batch;
    }
  }

  async ack(records: readonly DeliveredRecord[]): Promise<void> {
    for (const r of records) this.delivered.delete(r.position);
    this.stream.acknowledge(records);
  }

  async release(records: readonly DeliveredRecord[]): Promise<void> {
    for (const r of records) this.delivered.delete(r.position);
    this.stream.giveBack(records);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    // Whatever this reader took and did not acknowledge goes back for another reader: at-least-once.
    this.stream.giveBack([...this.delivered.values()]);
    this.delivered.clear();
  }
}
