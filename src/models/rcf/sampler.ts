/**
 * Time-decayed weighted reservoir sampler of one tree, as AWS's `CompactSampler`: each arriving
 * point gets the weight `log(-log(u)) - λ·t` (u uniform, t its sequence index) and the sampler
 * keeps the `capacity` points of lowest weight in a max-heap, so a new point replaces the heap's
 * top when its weight is lower. With λ = 0 this is a uniform reservoir sample; with λ > 0 the
 * chance that a point is still sampled decays exponentially with its age.
 */
export class TimeDecaySampler {
  readonly capacity: number;
  /** Heap of weights (max at index 0), parallel to {@link slots}. */
  readonly weights: Float64Array;
  /** Point-store slots of the sampled points. */
  readonly slots: Int32Array;
  size = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.weights = new Float64Array(capacity);
    this.slots = new Int32Array(capacity);
  }

  /** True when a point of this weight enters the sample (evicting the top if full). */
  accepts(weight: number): boolean {
    return this.size < this.capacity || weight < this.weights[0]!;
  }

  /** Removes the heaviest entry and returns its slot. Only call when full. */
  evictMax(): number {
    const w = this.weights;
    const s = this.slots;
    const evicted = s[0]!;
    const n = --this.size;
    w[0] = w[n]!;
    s[0] = s[n]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && w[child + 1]! > w[child]!) child++;
      if (w[child]! <= w[i]!) break;
      const tw = w[i]!;
      w[i] = w[child]!;
      w[child] = tw;
      const ts = s[i]!;
      s[i] = s[child]!;
      s[child] = ts;
      i = child;
    }
    return evicted;
  }

  /** Adds an entry; there must be room. */
  add(weight: number, slot: number): void {
    const w = this.weights;
    const s = this.slots;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (w[parent]! >= weight) break;
      w[i] = w[parent]!;
      s[i] = s[parent]!;
      i = parent;
    }
    w[i] = weight;
    s[i] = slot;
  }
}
