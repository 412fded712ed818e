import { readFileSync } from 'node:fs';
import type { Matrix } from '../../../src/models/gbdt/index.js';
import { Random } from '../../../src/random/index.js';

/** `<repo>/../shared/fixtures/`: CI clones the repo next to `shared/`. */
export const FIXTURES = new URL('../../../../shared/fixtures/', import.meta.url);

export function fixtureText(path: string): string {
  return readFileSync(new URL(path, FIXTURES), 'utf8');
}

export function numberLines(path: string): number[] {
  return fixtureText(path)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number);
}

/** LIBSVM rows; features absent from a row are missing (NaN), not zero. */
export function readLibsvm(path: string, nCols: number): { x: Matrix; y: number[] } {
  const lines = fixtureText(path)
    .split('\n')
    .filter((l) => l.trim() !== '');
  const data = new Float32Array(lines.length * nCols).fill(Number.NaN);
  const y: number[] = [];
  lines.forEach((line, r) => {
    const [label, ...pairs] = line.trim().split(/\s+/);
    y.push(Number(label));
    for (const pair of pairs) {
      const [index, value] = pair.split(':');
      data[r * nCols + Number(index)] = Number(value);
    }
  });
  return { x: { data, nRows: lines.length, nCols }, y };
}

/** CSV with a header, empty field = missing, last column the label. */
export function readCsv(path: string): { x: Matrix; y: number[]; names: string[] } {
  const [header, ...lines] = fixtureText(path)
    .split('\n')
    .filter((l) => l.trim() !== '');
  const names = header!.split(',').slice(0, -1);
  const nCols = names.length;
  const data = new Float32Array(lines.length * nCols);
  const y: number[] = [];
  lines.forEach((line, r) => {
    const fields = line.split(',');
    for (let c = 0; c < nCols; c++) {
      const f = fields[c]!;
      data[r * nCols + c] = f === '' ? Number.NaN : Number(f);
    }
    y.push(Number(fields[nCols]));
  });
  return { x: { data, nRows: lines.length, nCols }, y, names };
}

/** Two Gaussian classes with identity covariance; positives are shifted by `delta` (seeded). */
export function gaussianClasses(
  n: number,
  delta: readonly number[],
  positiveRate: number,
  seed: number,
): { x: Matrix; y: Float64Array } {
  const random = new Random(seed);
  const d = delta.length;
  const data = new Float32Array(n * d);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const positive = random.next() < positiveRate;
    y[i] = positive ? 1 : 0;
    for (let j = 0; j < d; j++) data[i * d + j] = random.normal() + (positive ? delta[j]! : 0);
  }
  return { x: { data, nRows: n, nCols: d }, y };
}

/** Standard normal CDF via the Abramowitz–Stegun 7.1.26 erf approximation (|error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}
