/**
 * Seeded pseudo-random numbers. Everything random in fraudstream (simulator, samplers, tree
 * building, forests) draws from a {@link Random} so that a seed reproduces a run exactly.
 *
 * The generator is xoshiro128** (Blackman & Vigna), 32-bit state words, seeded through
 * SplitMix32 so that nearby seeds give unrelated streams.
 */
export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal = Number.NaN;

  constructor(seed: number) {
    let x = seed >>> 0 || 0x9e3779b9;
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform double in [min, max). */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (mean 0, sd 1) by the Marsaglia polar method. */
  normal(mean = 0, sd = 1): number {
    if (!Number.isNaN(this.spareNormal)) {
      const v = this.spareNormal;
      this.spareNormal = Number.NaN;
      return mean + sd * v;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = this.next() * 2 - 1;
      v = this.next() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * m;
    return mean + sd * u * m;
  }

  /** Poisson-distributed integer with mean `lambda` (Knuth for small means, normal approximation above 60). */
  poisson(lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda > 60) return Math.max(0, Math.round(this.normal(lambda, Math.sqrt(lambda))));
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  /** Exponentially distributed double with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /**
   * The generator's full state as six finite numbers (four state words, then a flag and the value
   * of the cached second normal deviate), so that models can be saved as JSON and resumed with
   * {@link Random.fromState} to draw exactly the same stream.
   */
  getState(): number[] {
    const hasSpare = !Number.isNaN(this.spareNormal);
    return [
      this.s0 >>> 0,
      this.s1 >>> 0,
      this.s2 >>> 0,
      this.s3 >>> 0,
      hasSpare ? 1 : 0,
      hasSpare ? this.spareNormal : 0,
    ];
  }

  /**
   * A generator resuming from a state returned by {@link Random.getState}.
   * @throws RangeError if `state` is not such a state.
   */
  static fromState(state: readonly number[]): Random {
    if (state.length !== 6) throw new RangeError(`Random state must have 6 numbers, got ${state.length}`);
    for (let i = 0; i < 4; i++) {
      const w = state[i]!;
      if (!Number.isInteger(w) || w < 0 || w > 0xffffffff)
        throw new RangeError(`Random state word ${i} is invalid`);
    }
    if ((state[0]! | state[1]! | state[2]! | state[3]!) === 0)
      throw new RangeError('Random state is all zero');
    if ((state[4] !== 0 && state[4] !== 1) || !Number.isFinite(state[5])) {
      throw new RangeError('Random state normal cache is invalid');
    }
    const r = new Random(0);
    r.s0 = state[0]! | 0;
    r.s1 = state[1]! | 0;
    r.s2 = state[2]! | 0;
    r.s3 = state[3]! | 0;
    r.spareNormal = state[4] === 1 ? state[5]! : Number.NaN;
    return r;
  }

  /** A new generator whose stream is derived from this one (for independent sub-streams). */
  fork(): Random {
    return new Random(this.nextUint32());
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
