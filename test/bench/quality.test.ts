/**
 * The quality bench's machinery at reduced size (two seeds, a small world): the protocol runs per
 * seed and feature set, XGBoost (when installed; required in CI) scores the same test rows, and
 * the summary has per-seed rows, mean ± sd and paired comparisons with sign counts.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { formatQuality, parseQualityArgs, runQuality } from '../../bench/quality.bench.js';

function hasXgboost(): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import xgboost'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('quality bench, reduced protocol', () => {
  it('parses seeds, world size and feature sets from flags', () => {
    const o = parseQualityArgs([
      '--seeds',
      '3..5',
      '--customers',
      '400',
      '--features',
      'transactions',
      '--no-peer',
    ]);
    expect(o.seeds).toEqual([3, 4, 5]);
    expect(o.nCustomers).toBe(400);
    expect(o.nTerminals).toBe(10_000);
    expect(o.featureSets).toEqual(['transactions']);
    expect(o.peer).toBe(false);
    expect(parseQualityArgs([]).seeds).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(() => parseQualityArgs(['--features', 'creditcard'])).toThrow();
  });

  it('runs both feature sets on two small worlds with the peer on the same rows', async () => {
    const peer = hasXgboost();
    if (!peer) {
      if (process.env.CI === 'true') throw new Error('CI needs python3-xgboost for the quality bench test');
      console.log('python3-xgboost not installed: the peer part is skipped locally');
    }
    const result = await runQuality({
      seeds: [0, 1],
      nCustomers: 600,
      nTerminals: 1_200,
      featureSets: ['transactions', 'transactions-plus'],
      peer,
    });
    for (const set of ['transactions', 'transactions-plus'] as const) {
      const rows = result.sets[set]!;
      expect(rows.map((r) => r.seed)).toEqual([0, 1]);
      for (const r of rows) {
        expect(r.testFrauds).toBeGreaterThan(10);
        for (const score of [r.classifier, r.combined]) {
          expect(score.auc).toBeGreaterThan(0.7);
          expect(score.ap).toBeGreaterThan(0.2);
          expect(score.cp100).toBeGreaterThan(0);
        }
        if (peer) expect(r.xgboost!.auc).toBeGreaterThan(0.7);
      }
    }
    // Same world, same test rows: the feature set changes the features, not the rows.
    expect(result.sets['transactions-plus']!.map((r) => r.testRows)).toEqual(
      result.sets.transactions!.map((r) => r.testRows),
    );
    const text = formatQuality(result);
    expect(text).toContain('feature set transactions: AUC / AP / CP@100 per seed');
    expect(text).toContain('mean ± sd over 2 seeds');
    expect(text).toMatch(/combined − classifier/);
    expect(text).toMatch(/\d+ ahead, \d+ behind/);
    expect(text).toContain('gain of transactions-plus over transactions');
    if (peer) expect(text).toMatch(/combined − XGBoost/);
  }, 600_000);
});
