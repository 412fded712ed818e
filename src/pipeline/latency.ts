/**
 * A fixed-memory latency histogram with logarithmic buckets (about 4% wide), for p50/p99 of
 * produce-to-persisted latency without keeping every sample.
 */
export class LatencyHistogram {
  private static readonly BUCKETS = 400;
  private static readonly BASE = 1.04;
  private readonly counts = new Float64Array(LatencyHistogram.BUCKETS);
  private total = 0;
  private maxMs = 0;

  record(ms: number): void {
    const v = Math.max(0, ms);
    const b =
      v < 0.01
        ? 0
        : Math.min(
            LatencyHistogram.BUCKETS - 1,
            1 + Math.floor(Math.log(v / 0.01) / Math.log(LatencyHistogram.BASE)),
          );
    this.counts[b]!++;
    this.total++;
    if (v > this.maxMs) this.maxMs = v;
  }

  get count(): number {
    return this.total;
  }

  get max(): number {
    return this.maxMs;
  }

  /** The q-quantile (0..1) in ms: the upper edge of the bucket holding it; NaN when empty. */
  quantile(q: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let b = 0; b < LatencyHistogram.BUCKETS; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) return b === 0 ? 0.01 : Math.min(this.maxMs, 0.01 * LatencyHistogram.BASE ** b);
    }
    return this.maxMs;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.maxMs = 0;
  }
}
