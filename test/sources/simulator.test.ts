import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import type { Transaction } from '../../src/events/index.js';
import type { SimulatedDay, SimulatorOptions, SimulatorProfiles } from '../../src/sources/simulator/index.js';
import {
  createSimulatorProfiles,
  createSimulatorSource,
  DEFAULT_SIMULATOR_OPTIONS,
  HANDBOOK_FRAUD_SCENARIOS,
  resolveSimulatorOptions,
  simulateDays,
} from '../../src/sources/simulator/index.js';

const REDUCED: SimulatorOptions = { nCustomers: 500, nTerminals: 1000, nDays: 60, seed: 11 };

/** Standard normal CDF via the Abramowitz-Stegun 7.1.26 erf approximation (|error| < 1.5e-7). */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

/** P(0 < int(Normal(43200, 20000)) < 86400): truncation toward zero keeps draws in [1, 86400). */
const P_TIME_KEPT = normalCdf((86_400 - 43_200) / 20_000) - normalCdf((1 - 43_200) / 20_000);

function scenarioOf(tx: Transaction): number {
  return (tx.extra as { fraudScenario: number }).fraudScenario;
}

function collect(options: SimulatorOptions): SimulatedDay[] {
  return [...simulateDays(options)];
}

/** Expected transactions per day of each customer: rate x time cut x (has a terminal). */
function expectedDailyRate(profiles: SimulatorProfiles): Float64Array {
  const rate = new Float64Array(profiles.nCustomers);
  for (let c = 0; c < profiles.nCustomers; c++) {
    const hasTerminal = profiles.terminalOffsets[c + 1]! > profiles.terminalOffsets[c]!;
    rate[c] = hasTerminal ? profiles.meanTxPerDay[c]! * P_TIME_KEPT : 0;
  }
  return rate;
}

/** Expected transactions per day on each terminal: each customer splits its rate evenly over its terminals. */
function expectedTerminalRate(profiles: SimulatorProfiles, customerRate: Float64Array): Float64Array {
  const rate = new Float64Array(profiles.nTerminals);
  for (let c = 0; c < profiles.nCustomers; c++) {
    const first = profiles.terminalOffsets[c]!;
    const n = profiles.terminalOffsets[c + 1]! - first;
    for (let k = 0; k < n; k++) rate[profiles.availableTerminals[first + k]!]! += customerRate[c]! / n;
  }
  return rate;
}

interface Summary {
  total: number;
  byScenario: number[];
  expectedTotal: number;
  expectedScenario1: number;
  /** Transactions on a terminal inside a scenario-2 window (labelled 2, or 3 when scenario 3 overrode it). */
  onCompromisedTerminals: number;
  expectedOnCompromisedTerminals: number;
  expectedScenario3: number;
}

/** Observed counts next to their expectations given the profiles and the drawn compromises. */
function summarize(options: SimulatorOptions): Summary {
  const profiles = createSimulatorProfiles(options);
  const customerRate = expectedDailyRate(profiles);
  const terminalRate = expectedTerminalRate(profiles, customerRate);
  const { customerWindowDays, customerFraudShare, amountThreshold } = HANDBOOK_FRAUD_SCENARIOS;
  let dailyRate = 0;
  let dailyScenario1 = 0;
  for (let c = 0; c < profiles.nCustomers; c++) {
    dailyRate += customerRate[c]!;
    const mean = profiles.meanAmount[c]!;
    // Only the Normal branch can exceed 220: the redraw for negative amounts is below 2 x 100.
    dailyScenario1 += customerRate[c]! * (1 - normalCdf((amountThreshold - mean) / profiles.stdAmount[c]!));
  }

  const summary: Summary = {
    total: 0,
    byScenario: [0, 0, 0, 0],
    expectedTotal: 0,
    expectedScenario1: 0,
    onCompromisedTerminals: 0,
    expectedOnCompromisedTerminals: 0,
    expectedScenario3: 0,
  };
  const drawnCustomers: number[][] = [];
  for (const day of simulateDays(options)) {
    summary.expectedTotal += dailyRate;
    summary.expectedScenario1 += dailyScenario1;
    const active = new Set(day.activeCompromisedTerminals);
    for (const t of active) summary.expectedOnCompromisedTerminals += terminalRate[t]!;
    drawnCustomers.push(day.compromisedCustomers);
    const windows = new Map<number, number>();
    for (const drawn of drawnCustomers.slice(-customerWindowDays)) {
      for (const c of drawn) windows.set(c, (windows.get(c) ?? 0) + 1);
    }
    for (const [c, k] of windows) {
      summary.expectedScenario3 += customerRate[c]! * (1 - (1 - customerFraudShare) ** k);
    }
    for (const tx of day.transactions) {
      summary.total++;
      summary.byScenario[scenarioOf(tx)]!++;
      if (active.has(Number(tx.terminalId))) summary.onCompromisedTerminals++;
    }
  }
  return summary;
}

/** |observed - expected| within `sigmas` Poisson standard deviations. */
function expectPoissonClose(observed: number, expected: number, sigmas = 4): void {
  expect(expected).toBeGreaterThan(0);
  expect(Math.abs(observed - expected)).toBeLessThan(sigmas * Math.sqrt(expected));
}

describe('resolveSimulatorOptions', () => {
  it('defaults to the book run and rejects invalid settings with ConfigError', () => {
    const resolved = resolveSimulatorOptions();
    expect(resolved).toMatchObject(DEFAULT_SIMULATOR_OPTIONS);
    expect(resolved.startMs).toBe(Date.UTC(2018, 3, 1));
    expect(resolveSimulatorOptions({ nDays: undefined }).nDays).toBe(DEFAULT_SIMULATOR_OPTIONS.nDays);
    for (const bad of [
      { nCustomers: 0 },
      { nTerminals: 2.5 },
      { nDays: -1 },
      { radius: 0 },
      { radius: Number.NaN },
      { seed: -3 },
      { startDate: '2018-4-1' },
      { startDate: '2018-02-30' },
    ] as SimulatorOptions[]) {
      expect(() => resolveSimulatorOptions(bad), JSON.stringify(bad)).toThrow(ConfigError);
    }
    expect(() => createSimulatorSource({ nDays: 0 })).toThrow(ConfigError);
  });
});

describe('simulator profiles', () => {
  it('draws profiles in the book ranges and links exactly the terminals strictly within the radius', () => {
    const options = { nCustomers: 300, nTerminals: 700, radius: 7.5, seed: 5 };
    const p = createSimulatorProfiles(options);
    let sumMean = 0;
    let sumRate = 0;
    for (let c = 0; c < p.nCustomers; c++) {
      for (const v of [p.customerX[c]!, p.customerY[c]!]) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThan(100);
      }
      expect(p.meanAmount[c]).toBeGreaterThanOrEqual(5);
      expect(p.meanAmount[c]).toBeLessThan(100);
      expect(p.stdAmount[c]).toBe(p.meanAmount[c]! / 2);
      expect(p.meanTxPerDay[c]).toBeGreaterThanOrEqual(0);
      expect(p.meanTxPerDay[c]).toBeLessThan(4);
      sumMean += p.meanAmount[c]!;
      sumRate += p.meanTxPerDay[c]!;

      const brute: number[] = [];
      for (let t = 0; t < p.nTerminals; t++) {
        const d = Math.hypot(p.terminalX[t]! - p.customerX[c]!, p.terminalY[t]! - p.customerY[c]!);
        if (d < options.radius) brute.push(t);
      }
      const linked = [...p.availableTerminals.subarray(p.terminalOffsets[c]!, p.terminalOffsets[c + 1]!)];
      expect(linked).toEqual(brute);
    }
    // U(5,100) has sd 27.4 and U(0,4) sd 1.15: 4-sigma bounds for the means of 300 draws.
    expect(Math.abs(sumMean / p.nCustomers - 52.5)).toBeLessThan((4 * 27.42) / Math.sqrt(300));
    expect(Math.abs(sumRate / p.nCustomers - 2)).toBeLessThan((4 * 1.155) / Math.sqrt(300));
    expect(createSimulatorProfiles(options).availableTerminals).toEqual(p.availableTerminals);
  });
});

describe('simulateDays (500 customers, 1,000 terminals, 60 days)', () => {
  const days = collect(REDUCED);
  const profiles = createSimulatorProfiles(REDUCED);

  it('streams days in order with time-sorted transactions and sequential ids', () => {
    expect(days.map((d) => d.day)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    // Checks are tallied and asserted once: one expect per field of 58k rows would dominate the run time.
    const violations = new Map<string, number>();
    const fail = (what: string): void => {
      violations.set(what, (violations.get(what) ?? 0) + 1);
    };
    let nextId = 0;
    let lastTime = Number.NEGATIVE_INFINITY;
    for (const day of days) {
      expect(day.dateMs).toBe(Date.UTC(2018, 3, 1) + day.day * 86_400_000);
      for (const tx of day.transactions) {
        if (tx.id !== String(nextId++)) fail('id not sequential');
        if (tx.timestampMs < lastTime) fail('time goes back');
        lastTime = tx.timestampMs;
        // Times are whole seconds strictly inside the day.
        if (tx.timestampMs <= day.dateMs || tx.timestampMs >= day.dateMs + 86_400_000) fail('outside day');
        if ((tx.timestampMs - day.dateMs) % 1000 !== 0) fail('not whole seconds');
        if (tx.channel !== 'unknown' || tx.format !== 'native') fail('channel or format');
        if (!(tx.amount >= 0) || Math.round(tx.amount * 100) / 100 !== tx.amount) fail('amount not cents');
        const c = Number(tx.cardId);
        const linked = profiles.availableTerminals.subarray(
          profiles.terminalOffsets[c]!,
          profiles.terminalOffsets[c + 1]!,
        );
        if (!linked.includes(Number(tx.terminalId))) fail('terminal out of radius');
      }
    }
    expect(nextId).toBeGreaterThan(0);
    expect(Object.fromEntries(violations)).toEqual({});
  });

  it('gives each customer Poisson(rate x P(time kept)) transactions per day', () => {
    const counts = new Float64Array(profiles.nCustomers);
    for (const day of days) for (const tx of day.transactions) counts[Number(tx.cardId)]!++;
    const rate = expectedDailyRate(profiles);
    let chi2 = 0;
    let dof = 0;
    let observed = 0;
    let expected = 0;
    for (let c = 0; c < profiles.nCustomers; c++) {
      const mean = rate[c]! * REDUCED.nDays!;
      observed += counts[c]!;
      expected += mean;
      if (mean === 0) {
        expect(counts[c]).toBe(0);
        continue;
      }
      chi2 += (counts[c]! - mean) ** 2 / mean;
      dof++;
    }
    expectPoissonClose(observed, expected);
    // A Poisson count over 60 days has variance = mean: chi2/dof ~ 1 +- sqrt(2/dof).
    expect(Math.abs(chi2 / dof - 1)).toBeLessThan(4 * Math.sqrt(2 / dof));
  });

  it('draws amounts from Normal(mean, mean/2), redrawn U(0, 2 mean) when negative', () => {
    // z = (amount - mean) / sd follows N(0,1) above -2 and U(-2, 2) in the 2.3% redrawn below it.
    const pLow = normalCdf(-2);
    const ez = normalPdf(2);
    const ez2 = 1 - pLow - 2 * normalPdf(2) + pLow * (4 / 3);
    const sdZ = Math.sqrt(ez2 - ez * ez);
    let n = 0;
    let sumZ = 0;
    let sumZ2 = 0;
    for (const day of days) {
      for (const tx of day.transactions) {
        if (scenarioOf(tx) === 3) continue;
        const c = Number(tx.cardId);
        const z = (tx.amount - profiles.meanAmount[c]!) / profiles.stdAmount[c]!;
        n++;
        sumZ += z;
        sumZ2 += z * z;
      }
    }
    const meanZ = sumZ / n;
    expect(Math.abs(meanZ - ez)).toBeLessThan((4 * sdZ) / Math.sqrt(n));
    expect(Math.sqrt(sumZ2 / n - meanZ * meanZ)).toBeCloseTo(sdZ, 1);
  });

  it('labels the three scenarios by their rules, later scenarios overriding earlier ones', () => {
    const terminalWindows: number[][] = [];
    const customerWindows: number[][] = [];
    let mislabelled = 0;
    for (const day of days) {
      terminalWindows.push(day.compromisedTerminals);
      customerWindows.push(day.compromisedCustomers);
      expect(day.compromisedTerminals).toHaveLength(day.day < REDUCED.nDays! - 1 ? 2 : 0);
      expect(day.compromisedCustomers).toHaveLength(day.day < REDUCED.nDays! - 1 ? 3 : 0);
      const activeTerminals = new Set(terminalWindows.slice(-28).flat());
      const activeCustomers = new Set(customerWindows.slice(-14).flat());
      expect(day.activeCompromisedTerminals).toEqual([...activeTerminals].sort((a, b) => a - b));
      expect(day.activeCompromisedCustomers).toEqual([...activeCustomers].sort((a, b) => a - b));
      for (const tx of day.transactions) {
        const scenario = scenarioOf(tx);
        let expected: number;
        if (scenario === 3) expected = activeCustomers.has(Number(tx.cardId)) ? 3 : -1;
        else if (activeTerminals.has(Number(tx.terminalId))) expected = 2;
        else expected = tx.amount > 220 ? 1 : 0;
        if (scenario !== expected || tx.label !== (scenario === 0 ? 0 : 1)) mislabelled++;
      }
    }
    expect(mislabelled).toBe(0);
  });

  it('produces scenario counts that match their expectations given the drawn compromises', () => {
    const s = summarize(REDUCED);
    expectPoissonClose(s.total, s.expectedTotal);
    // Scenario 2 and 3 labels can override a few scenario-1 frauds, hence the slack below.
    expectPoissonClose(s.byScenario[1]!, s.expectedScenario1, 5);
    expectPoissonClose(s.onCompromisedTerminals, s.expectedOnCompromisedTerminals);
    expectPoissonClose(s.byScenario[3]!, s.expectedScenario3);
    expect(s.byScenario[2]).toBeLessThanOrEqual(s.onCompromisedTerminals);
    expect(s.byScenario[2]).toBeGreaterThan(0.9 * s.onCompromisedTerminals);
  });

  it('scales the scenario-2 share with 1 / nTerminals: halving the terminals doubles it', () => {
    const fewer = summarize({ ...REDUCED, nTerminals: 500, radius: Math.SQRT2 * 5 });
    const base = summarize(REDUCED);
    const share = (s: Summary): number => s.onCompromisedTerminals / s.total;
    const ratio = share(fewer) / share(base);
    expect(ratio).toBeGreaterThan(1.6);
    expect(ratio).toBeLessThan(2.4);
  });
});

describe('determinism and the Source', () => {
  const small: SimulatorOptions = { nCustomers: 120, nTerminals: 300, nDays: 10, seed: 3 };

  it('reproduces a run from its seed and differs across seeds', () => {
    const a = collect(small);
    const b = collect(small);
    const c = collect({ ...small, seed: 4 });
    expect(b).toEqual(a);
    expect(c.flatMap((d) => d.transactions)).not.toEqual(a.flatMap((d) => d.transactions));
  });

  it('handles populations smaller than the daily compromise draws', () => {
    const tiny = collect({ nCustomers: 2, nTerminals: 1, nDays: 3, radius: 200, seed: 9 });
    expect(tiny.map((d) => d.compromisedCustomers)).toEqual([[0, 1], [0, 1], []]);
    expect(tiny.map((d) => d.compromisedTerminals)).toEqual([[0], [0], []]);
    for (const day of tiny) for (const tx of day.transactions) expect(tx.label).toBe(1);
  });

  it('yields every simulated transaction in time order as a source named simulator', async () => {
    const source = createSimulatorSource(small);
    expect(source.name).toBe('simulator');
    const fromSource: Transaction[] = [];
    for await (const record of source.records()) {
      if (record.kind !== 'transaction') throw new Error(`unexpected ${record.kind} record`);
      fromSource.push(record.transaction);
    }
    expect(fromSource).toEqual(collect(small).flatMap((d) => d.transactions));
    // A second iteration starts the simulation afresh.
    let again = 0;
    for await (const _ of source.records()) again++;
    expect(again).toBe(fromSource.length);
  });
});

describe("the book's default run (5,000 customers, 10,000 terminals, 183 days)", () => {
  it("matches the Handbook's published totals and its own expectations", () => {
    const s = summarize({});
    const frauds = s.byScenario[1]! + s.byScenario[2]! + s.byScenario[3]!;
    expect(Math.abs(s.total / 1_754_155 - 1)).toBeLessThan(0.02);
    expect(Math.abs(frauds / s.total - 14_681 / 1_754_155)).toBeLessThan(0.001);
    expect(Math.abs(s.byScenario[1]! / 973 - 1)).toBeLessThan(0.15);
    expect(Math.abs(s.byScenario[2]! / 9_077 - 1)).toBeLessThan(0.15);
    expect(Math.abs(s.byScenario[3]! / 4_631 - 1)).toBeLessThan(0.15);
    expectPoissonClose(s.total, s.expectedTotal);
    expectPoissonClose(s.onCompromisedTerminals, s.expectedOnCompromisedTerminals);
    expectPoissonClose(s.byScenario[3]!, s.expectedScenario3);
  });
});
