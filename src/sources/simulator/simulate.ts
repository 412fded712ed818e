import type { Label, Transaction } from '../../events/index.js';
import { Random } from '../../random/index.js';
import type { ResolvedSimulatorOptions, SimulatorOptions } from './options.js';
import { resolveSimulatorOptions } from './options.js';
import type { SimulatorProfiles } from './profiles.js';
import { generateProfiles } from './profiles.js';

/** 0 = genuine; 1 = amount over 220; 2 = compromised terminal; 3 = compromised card. */
export type FraudScenario = 0 | 1 | 2 | 3;

/**
 * The fixed parameters of the book's three fraud scenarios:
 * 1. every amount above `amountThreshold` is a fraud;
 * 2. each day `terminalsPerDay` terminals are drawn and all their transactions during
 *    `terminalWindowDays` days (the drawing day included) are frauds;
 * 3. each day `customersPerDay` customers are drawn and, during `customerWindowDays` days,
 *    a `customerFraudShare` of their transactions are frauds with the amount multiplied by
 *    `customerAmountFactor`.
 */
export const HANDBOOK_FRAUD_SCENARIOS = {
  amountThreshold: 220,
  terminalsPerDay: 2,
  terminalWindowDays: 28,
  customersPerDay: 3,
  customerWindowDays: 14,
  customerFraudShare: 1 / 3,
  customerAmountFactor: 5,
} as const;

/** Transaction times are `int(Normal(noon, 20000 s))`, kept only when strictly inside the day. */
const SECONDS_PER_DAY = 86_400;
const TIME_MEAN_S = SECONDS_PER_DAY / 2;
const TIME_SD_S = 20_000;
const MS_PER_DAY = SECONDS_PER_DAY * 1000;

/** One simulated day: its transactions in time order and the fraud state that produced their labels. */
export interface SimulatedDay {
  /** Day index, 0 for `startDate`. */
  day: number;
  /** Midnight UTC of the day, epoch ms. */
  dateMs: number;
  /** The day's transactions sorted by time; ids continue across days. */
  transactions: Transaction[];
  /** Terminals drawn as compromised on this day (scenario 2), ascending. */
  compromisedTerminals: number[];
  /** Customers (cards) drawn as compromised on this day (scenario 3), ascending. */
  compromisedCustomers: number[];
  /** Every terminal whose scenario-2 window covers this day, ascending. */
  activeCompromisedTerminals: number[];
  /** Every customer whose scenario-3 window covers this day, ascending. */
  activeCompromisedCustomers: number[];
}

/** The `extra` field of every simulated transaction. */
export type SimulatorExtra = { fraudScenario: FraudScenario };

interface RandomStreams {
  profiles: Random;
  transactions: Random;
  frauds: Random;
}

/** Independent streams, so that e.g. the fraud draws never shift the genuine transactions. */
function randomStreams(seed: number): RandomStreams {
  const root = new Random(seed);
  return { profiles: root.fork(), transactions: root.fork(), frauds: root.fork() };
}

/** The customer and terminal profiles that {@link simulateDays} uses for the same options. */
export function createSimulatorProfiles(options: SimulatorOptions = {}): SimulatorProfiles {
  const resolved = resolveSimulatorOptions(options);
  return generateProfiles(
    resolved.nCustomers,
    resolved.nTerminals,
    resolved.radius,
    randomStreams(resolved.seed).profiles,
  );
}

/**
 * Simulates the Fraud Detection Handbook dataset (Le Borgne et al., chapter 3) one day at a
 * time, holding only the current day plus the scenario windows in memory.
 *
 * Faithful to the book: profiles, radius, Poisson counts, `int(Normal(43200, 20000))` times
 * with out-of-day draws dropped, Normal amounts redrawn U(0, 2 mean) when negative and
 * rounded to cents, uniform terminal choice; scenario 1 on the drawn amount, scenario 2
 * overriding it, scenario 3 overriding both; windows include the drawing day; no new
 * compromises are drawn on the last day (the book loops `range(max day)`).
 *
 * Differs from the book where streaming requires it: scenario 3 marks each transaction of a
 * compromised customer in a window as fraud with probability 1/3 independently, instead of
 * sampling exactly `floor(n / 3)` of the window's `n` transactions, which needs the future.
 * The expectation is the same up to the floor (the book has about 0.33 fewer frauds per
 * window, some 3% of scenario 3). Overlapping windows of one customer act independently,
 * each multiplying the amount by 5 when it selects the transaction, as in the book.
 * Random draws come from {@link Random}, so numbers match the book statistically, not row by row.
 */
export function* simulateDays(options: SimulatorOptions = {}): Generator<SimulatedDay, void, undefined> {
  const resolved = resolveSimulatorOptions(options);
  const streams = randomStreams(resolved.seed);
  const profiles = generateProfiles(
    resolved.nCustomers,
    resolved.nTerminals,
    resolved.radius,
    streams.profiles,
  );
  yield* runDays(resolved, profiles, streams);
}

function* runDays(
  options: ResolvedSimulatorOptions,
  profiles: SimulatorProfiles,
  streams: RandomStreams,
): Generator<SimulatedDay, void, undefined> {
  const { nCustomers, nTerminals, nDays, startMs } = options;
  const scenarios = HANDBOOK_FRAUD_SCENARIOS;
  const customerIds = Array.from({ length: nCustomers }, (_, i) => String(i));
  const terminalIds = Array.from({ length: nTerminals }, (_, i) => String(i));

  const terminalWindows = new CompromiseWindows(
    nTerminals,
    scenarios.terminalWindowDays,
    scenarios.terminalsPerDay,
  );
  const customerWindows = new CompromiseWindows(
    nCustomers,
    scenarios.customerWindowDays,
    scenarios.customersPerDay,
  );
  const buffer = new DayBuffer(expectedDailyTransactions(profiles));
  let nextId = 0;

  for (let day = 0; day < nDays; day++) {
    const drawToday = day < nDays - 1;
    const compromisedTerminals = terminalWindows.advance(day, drawToday, streams.frauds);
    const compromisedCustomers = customerWindows.advance(day, drawToday, streams.frauds);

    generateDayTransactions(profiles, streams.transactions, buffer);
    const order = buffer.sortByTime();

    const dateMs = startMs + day * MS_PER_DAY;
    const transactions: Transaction[] = new Array(order.length);
    const fraudRng = streams.frauds;
    const terminalActive = terminalWindows.activeCount;
    const customerActive = customerWindows.activeCount;
    for (let k = 0; k < order.length; k++) {
      const i = order[k]!;
      const customer = buffer.customers[i]!;
      const terminal = buffer.terminals[i]!;
      let amount = buffer.amounts[i]!;
      let scenario: FraudScenario = amount > scenarios.amountThreshold ? 1 : 0;
      if (terminalActive[terminal]! > 0) scenario = 2;
      const windows = customerActive[customer]!;
      if (windows > 0) {
        let factor = 1;
        for (let w = 0; w < windows; w++) {
          if (fraudRng.next() < scenarios.customerFraudShare) factor *= scenarios.customerAmountFactor;
        }
        if (factor > 1) {
          scenario = 3;
          amount = roundCents(amount * factor);
        }
      }
      const label: Label = scenario === 0 ? 0 : 1;
      transactions[k] = {
        id: String(nextId++),
        timestampMs: dateMs + buffer.times[i]! * 1000,
        cardId: customerIds[customer]!,
        terminalId: terminalIds[terminal]!,
        amount,
        channel: 'unknown',
        label,
        extra: { fraudScenario: scenario } satisfies SimulatorExtra,
        format: 'native',
      };
    }

    yield {
      day,
      dateMs,
      transactions,
      compromisedTerminals,
      compromisedCustomers,
      activeCompromisedTerminals: terminalWindows.activeIds(),
      activeCompromisedCustomers: customerWindows.activeIds(),
    };
  }
}

/** Book step 4 for one day: every customer, in id order, draws its transactions. */
function generateDayTransactions(profiles: SimulatorProfiles, rng: Random, buffer: DayBuffer): void {
  const { meanTxPerDay, meanAmount, stdAmount, terminalOffsets, availableTerminals } = profiles;
  buffer.clear();
  for (let c = 0; c < profiles.nCustomers; c++) {
    const nTx = rng.poisson(meanTxPerDay[c]!);
    if (nTx === 0) continue;
    const mean = meanAmount[c]!;
    const sd = stdAmount[c]!;
    const first = terminalOffsets[c]!;
    const nAvailable = terminalOffsets[c + 1]! - first;
    for (let j = 0; j < nTx; j++) {
      const time = Math.trunc(rng.normal(TIME_MEAN_S, TIME_SD_S));
      if (time <= 0 || time >= SECONDS_PER_DAY) continue;
      let amount = rng.normal(mean, sd);
      if (amount < 0) amount = rng.uniform(0, mean * 2);
      amount = roundCents(amount);
      if (nAvailable === 0) continue;
      const terminal = availableTerminals[first + rng.int(nAvailable)]!;
      buffer.push(time, c, terminal, amount);
    }
  }
}

function roundCents(x: number): number {
  return Math.round(x * 100) / 100;
}

function expectedDailyTransactions(profiles: SimulatorProfiles): number {
  let sum = 0;
  for (let c = 0; c < profiles.nCustomers; c++) sum += profiles.meanTxPerDay[c]!;
  return sum;
}

/**
 * The set of ids (terminals or customers) compromised during a sliding window of days. Draws
 * are kept in a ring of `windowDays` slots; `activeCount[id]` counts the windows covering
 * today, so an id drawn twice stays compromised until its last window ends.
 */
class CompromiseWindows {
  readonly activeCount: Uint16Array;
  private readonly ring: Int32Array;
  private readonly perDay: number;

  constructor(
    private readonly population: number,
    private readonly windowDays: number,
    perDay: number,
  ) {
    this.perDay = Math.min(perDay, population);
    this.activeCount = new Uint16Array(population);
    this.ring = new Int32Array(windowDays * this.perDay).fill(-1);
  }

  /** Expires the window drawn `windowDays` ago, draws today's ids (distinct), returns them ascending. */
  advance(day: number, draw: boolean, rng: Random): number[] {
    const slot = (day % this.windowDays) * this.perDay;
    for (let k = 0; k < this.perDay; k++) {
      const old = this.ring[slot + k]!;
      if (old >= 0) this.activeCount[old]!--;
      this.ring[slot + k] = -1;
    }
    if (!draw) return [];
    const drawn: number[] = [];
    while (drawn.length < this.perDay) {
      const id = rng.int(this.population);
      if (!drawn.includes(id)) drawn.push(id);
    }
    drawn.sort((a, b) => a - b);
    for (let k = 0; k < drawn.length; k++) {
      const id = drawn[k]!;
      this.ring[slot + k] = id;
      this.activeCount[id]!++;
    }
    return drawn;
  }

  activeIds(): number[] {
    const ids = new Set<number>();
    for (let k = 0; k < this.ring.length; k++) {
      const id = this.ring[k]!;
      if (id >= 0) ids.add(id);
    }
    return [...ids].sort((a, b) => a - b);
  }
}

/** Growable columns of one day's transactions, reused across days. */
class DayBuffer {
  times: Int32Array;
  customers: Int32Array;
  terminals: Int32Array;
  amounts: Float64Array;
  length = 0;
  private readonly secondCounts = new Int32Array(SECONDS_PER_DAY + 1);
  private order: Int32Array;

  constructor(expected: number) {
    const capacity = Math.max(64, Math.ceil(expected * 1.25));
    this.times = new Int32Array(capacity);
    this.customers = new Int32Array(capacity);
    this.terminals = new Int32Array(capacity);
    this.amounts = new Float64Array(capacity);
    this.order = new Int32Array(capacity);
  }

  clear(): void {
    this.length = 0;
  }

  push(time: number, customer: number, terminal: number, amount: number): void {
    if (this.length === this.times.length) this.grow();
    const i = this.length++;
    this.times[i] = time;
    this.customers[i] = customer;
    this.terminals[i] = terminal;
    this.amounts[i] = amount;
  }

  /**
   * Indices of the day's rows in time order. A counting sort over the 86,400 seconds is linear
   * and stable, so equal seconds keep customer-id order and ids are reproducible.
   */
  sortByTime(): Int32Array {
    const counts = this.secondCounts;
    counts.fill(0);
    const n = this.length;
    for (let i = 0; i < n; i++) counts[this.times[i]! + 1]!++;
    for (let s = 0; s < SECONDS_PER_DAY; s++) counts[s + 1]! += counts[s]!;
    const order = this.order;
    for (let i = 0; i < n; i++) order[counts[this.times[i]!]!++] = i;
    return order.subarray(0, n);
  }

  private grow(): void {
    const capacity = this.times.length * 2;
    const times = new Int32Array(capacity);
    times.set(this.times);
    this.times = times;
    const customers = new Int32Array(capacity);
    customers.set(this.customers);
    this.customers = customers;
    const terminals = new Int32Array(capacity);
    terminals.set(this.terminals);
    this.terminals = terminals;
    const amounts = new Float64Array(capacity);
    amounts.set(this.amounts);
    this.amounts = amounts;
    this.order = new Int32Array(capacity);
  }
}
