import type { SimulatorOptions } from '../src/sources/simulator/index.js';
import {
  createSimulatorProfiles,
  DEFAULT_SIMULATOR_OPTIONS,
  HANDBOOK_FRAUD_SCENARIOS,
  simulateDays,
} from '../src/sources/simulator/index.js';

/** The Handbook's published totals for its default run (chapter 3, "Simulated dataset"). */
const BOOK = {
  transactions: 1_754_155,
  frauds: 14_681,
  fraudRate: 0.008369271814634397,
  byScenario: [0, 973, 9_077, 4_631] as const,
};

/**
 * Generates the Handbook's full dataset (5,000 customers, 10,000 terminals, 183 days by
 * default) and prints its totals next to the book's, and the generation rate.
 * Flags: `--seed N`, `--days N`, `--customers N`, `--terminals N`.
 */
export async function main(args: string[]): Promise<void> {
  const options: SimulatorOptions = { ...DEFAULT_SIMULATOR_OPTIONS };
  for (let i = 0; i < args.length; i += 2) {
    const value = Number(args[i + 1]);
    switch (args[i]) {
      case '--seed':
        options.seed = value;
        break;
      case '--days':
        options.nDays = value;
        break;
      case '--customers':
        options.nCustomers = value;
        break;
      case '--terminals':
        options.nTerminals = value;
        break;
      default:
        throw new Error(`unknown flag ${String(args[i])}`);
    }
  }
  console.log('simulator bench settings', JSON.stringify(options));
  const expected = expectations(options);

  const started = process.hrtime.bigint();
  let transactions = 0;
  let frauds = 0;
  const byScenario = [0, 0, 0, 0];
  let amountSum = 0;
  let peakDay = 0;
  let expectedScenario3 = 0;
  const drawnCustomers: number[][] = [];
  for (const day of simulateDays(options)) {
    drawnCustomers.push(day.compromisedCustomers);
    expectedScenario3 += expected.scenario3GivenDraws(drawnCustomers);
    transactions += day.transactions.length;
    peakDay = Math.max(peakDay, day.transactions.length);
    for (const tx of day.transactions) {
      amountSum += tx.amount;
      if (tx.label === 1) frauds++;
      const scenario = (tx.extra as { fraudScenario: number }).fraudScenario;
      byScenario[scenario]!++;
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;

  const isDefault =
    options.nCustomers === DEFAULT_SIMULATOR_OPTIONS.nCustomers &&
    options.nTerminals === DEFAULT_SIMULATOR_OPTIONS.nTerminals &&
    options.nDays === DEFAULT_SIMULATOR_OPTIONS.nDays;
  const row = (name: string, ours: number, book: number | undefined, digits = 0): string => {
    const fmt = (x: number): string => x.toFixed(digits);
    if (book === undefined || !isDefault) return `${name.padEnd(22)} ${fmt(ours).padStart(12)}`;
    const diff = ((ours - book) / book) * 100;
    return `${name.padEnd(22)} ${fmt(ours).padStart(12)}   book ${fmt(book).padStart(12)}   ${diff >= 0 ? '+' : ''}${diff.toFixed(2)}%`;
  };
  console.log(row('transactions', transactions, BOOK.transactions));
  console.log(row('  expected (profiles)', expected.transactions, undefined));
  console.log(row('frauds', frauds, BOOK.frauds));
  console.log(row('fraud rate (%)', (frauds / transactions) * 100, BOOK.fraudRate * 100, 3));
  for (const s of [1, 2, 3] as const) console.log(row(`scenario ${s}`, byScenario[s]!, BOOK.byScenario[s]));
  console.log(row('  expected given draws', expectedScenario3, undefined));
  console.log(row('mean amount', amountSum / transactions, undefined, 2));
  console.log(row('largest day', peakDay, undefined));
  console.log(
    `generated ${transactions} transactions in ${seconds.toFixed(2)} s = ${Math.round(transactions / seconds)} tx/s` +
      ` (heap used ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB at end)`,
  );
}

/**
 * Expectations given this run's profiles: transactions = sum over customers with a terminal of
 * rate x P(0 < int(Normal(43200, 20000)) < 86400) x days; scenario 3 given the drawn customers.
 * They tell seed luck (which customers were drawn) apart from a bias against the book.
 */
function expectations(options: SimulatorOptions): {
  transactions: number;
  scenario3GivenDraws: (drawn: number[][]) => number;
} {
  const profiles = createSimulatorProfiles(options);
  const pTimeKept = normalCdf((86_400 - 43_200) / 20_000) - normalCdf((1 - 43_200) / 20_000);
  const rate = new Float64Array(profiles.nCustomers);
  let daily = 0;
  for (let c = 0; c < profiles.nCustomers; c++) {
    const hasTerminal = profiles.terminalOffsets[c + 1]! > profiles.terminalOffsets[c]!;
    rate[c] = hasTerminal ? profiles.meanTxPerDay[c]! * pTimeKept : 0;
    daily += rate[c]!;
  }
  const { customerWindowDays, customerFraudShare } = HANDBOOK_FRAUD_SCENARIOS;
  return {
    transactions: daily * (options.nDays ?? DEFAULT_SIMULATOR_OPTIONS.nDays),
    scenario3GivenDraws: (drawn) => {
      const windows = new Map<number, number>();
      for (const day of drawn.slice(-customerWindowDays)) {
        for (const c of day) windows.set(c, (windows.get(c) ?? 0) + 1);
      }
      let sum = 0;
      for (const [c, k] of windows) sum += rate[c]! * (1 - (1 - customerFraudShare) ** k);
      return sum;
    },
  };
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26, |error| < 1.5e-7). */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
