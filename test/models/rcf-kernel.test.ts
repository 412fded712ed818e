import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RandomCutForest } from '../../src/models/rcf/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('RCF WebAssembly kernel', () => {
  it('is committed as compiled from its AssemblyScript source', () => {
    const run = spawnSync(process.execPath, ['scripts/build-rcf-kernel.mjs', '--check'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/is current/);
  }, 60_000);

  it('gives each forest its own memory', () => {
    const options = { dimensions: 3, numberOfTrees: 4, sampleSize: 32, seed: 5 };
    const a = new RandomCutForest(options);
    const b = new RandomCutForest(options);
    const rows = Float64Array.from({ length: 600 }, (_, i) => Math.sin(i) * (i % 7));
    const alone = new RandomCutForest(options).scoreAndUpdateBatch(rows, 200);
    // Interleaved use of two forests gives what one forest alone gives.
    const first = new Float64Array(200);
    for (let i = 0; i < 200; i++) {
      first[i] = a.scoreAndUpdate(rows.subarray(i * 3, i * 3 + 3));
      b.update(rows.subarray((199 - i) * 3, (200 - i) * 3));
    }
    expect(Array.from(first)).toEqual(Array.from(alone));
  });

  it('refuses a forest larger than a WebAssembly memory with a clear error', () => {
    expect(() => new RandomCutForest({ dimensions: 20_000, shingleSize: 4, numberOfTrees: 50 })).toThrow(
      /more than a WebAssembly memory holds/,
    );
  });
});
