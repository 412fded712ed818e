import { describe, expect, it } from 'vitest';
import { Random } from '../../src/random/index.js';

describe('Random', () => {
  it('reproduces a stream from its seed and differs across seeds', () => {
    const a = new Random(42);
    const b = new Random(42);
    const c = new Random(43);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
  });

  it('draws uniform, normal and Poisson values with the right moments', () => {
    const r = new Random(7);
    const n = 200_000;
    let su = 0;
    let sn = 0;
    let sn2 = 0;
    let sp = 0;
    for (let i = 0; i < n; i++) {
      const u = r.next();
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      su += u;
      const z = r.normal();
      sn += z;
      sn2 += z * z;
      sp += r.poisson(2);
    }
    expect(su / n).toBeCloseTo(0.5, 2);
    expect(sn / n).toBeCloseTo(0, 2);
    expect(sn2 / n).toBeCloseTo(1, 1);
    expect(sp / n).toBeCloseTo(2, 1);
  });
});
