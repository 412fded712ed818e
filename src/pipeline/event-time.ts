import { EventTimeError } from '../errors/index.js';

/** One day in ms, the default tolerance of {@link EventTimeGuard}. */
export const DEFAULT_MAX_FUTURE_SKEW_MS = 86_400_000;

/**
 * Keeps records dated far in the future out of the window state, whose clock (watermark) only
 * moves forward: one record dated 2099 would expire every window and make every card look new.
 *
 * The high-water mark is the latest event time accepted so far. A record is refused when it is
 * more than `maxFutureSkewMs` ahead of both the mark and the wall clock: the wall clock catches
 * a far-future first record of a fresh consumer (no mark yet), and the mark still admits
 * simulated streams that run ahead of real time, as long as they move forward steadily. Old
 * records are never refused (replaying 2018 history works), so a stream with a gap of more than
 * the tolerance is refused only while its event time is ahead of the wall clock.
 */
export class EventTimeGuard {
  private markMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly maxFutureSkewMs: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** The latest event time accepted, or undefined before the first. */
  get highWaterMarkMs(): number | undefined {
    return Number.isFinite(this.markMs) ? this.markMs : undefined;
  }

  /** Accepts `timestampMs` (raising the mark) or returns why not. */
  admit(timestampMs: number): EventTimeError | undefined {
    if (timestampMs > this.markMs) {
      const reference = Math.max(this.markMs, this.nowMs());
      if (timestampMs - reference > this.maxFutureSkewMs) {
        return new EventTimeError(timestampMs, reference, this.maxFutureSkewMs);
      }
      this.markMs = timestampMs;
    }
    return undefined;
  }
}
