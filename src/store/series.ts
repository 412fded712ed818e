import type { SeriesAggregation, SeriesPoint } from './types.js';

/**
 * An append-mostly time series on growable typed arrays, with a retention horizon. Points
 * arrive in (nearly) time order; the rare late point is inserted in place so ranges stay sorted.
 */
export class TimeSeriesBuffer {
  private t = new Float64Array(1024);
  private v = new Float64Array(1024);
  private start = 0;
  private end = 0;

  constructor(private readonly retentionMs: number) {}

  get length(): number {
    return this.end - this.start;
  }

  add(t: number, v: number): void {
    if (this.end === this.t.length) this.grow();
    let i = this.end;
    while (i > this.start && this.t[i - 1]! > t) {
      this.t[i] = this.t[i - 1]!;
      this.v[i] = this.v[i - 1]!;
      i--;
    }
    this.t[i] = t;
    this.v[i] = v;
    this.end++;
    const horizon = this.t[this.end - 1]! - this.retentionMs;
    while (this.start < this.end && this.t[this.start]! < horizon) this.start++;
  }

  range(
    fromMs: number,
    toMs: number,
    aggregate?: { bucketMs: number; type: SeriesAggregation },
  ): SeriesPoint[] {
    const lo = this.lowerBound(fromMs);
    const out: SeriesPoint[] = [];
    if (!aggregate) {
      for (let i = lo; i < this.end && this.t[i]! <= toMs; i++) out.push({ t: this.t[i]!, v: this.v[i]! });
      return out;
    }
    const { bucketMs, type } = aggregate;
    let bucket = Number.NaN;
    let count = 0;
    let sum = 0;
    let max = Number.NEGATIVE_INFINITY;
    const emit = (): void => {
      if (count === 0) return;
      const v = type === 'count' ? count : type === 'sum' ? sum : type === 'avg' ? sum / count : max;
      out.push({ t: bucket, v });
    };
    for (let i = lo; i < this.end && this.t[i]! <= toMs; i++) {
      const b = Math.floor(this.t[i]! / bucketMs) * bucketMs;
      if (b !== bucket) {
        emit();
        bucket = b;
        count = 0;
        sum = 0;
        max = Number.NEGATIVE_INFINITY;
      }
      const value = this.v[i]!;
      count++;
      sum += value;
      if (value > max) max = value;
    }
    emit();
    return out;
  }

  private lowerBound(t: number): number {
    let lo = this.start;
    let hi = this.end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.t[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private grow(): void {
    const live = this.end - this.start;
    // Compact when most of the buffer is expired; double only when it is genuinely full.
    const size = live * 2 > this.t.length ? this.t.length * 2 : this.t.length;
    const t = new Float64Array(size);
    const v = new Float64Array(size);
    t.set(this.t.subarray(this.start, this.end));
    v.set(this.v.subarray(this.start, this.end));
    this.t = t;
    this.v = v;
    this.start = 0;
    this.end = live;
  }
}
