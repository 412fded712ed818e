import { ConfigError } from '../../errors/index.js';

/**
 * Settings of the Fraud Detection Handbook transaction simulator (Le Borgne et al., chapter 3,
 * "Simulated dataset"). The defaults reproduce the book's published run.
 */
export interface SimulatorOptions {
  /**
   * Number of customers (cards). Customer ids are `0..nCustomers-1`.
   * @default 5000
   */
  nCustomers?: number;
  /**
   * Number of terminals. Terminal ids are `0..nTerminals-1`.
   * @default 10000
   */
  nTerminals?: number;
  /**
   * Number of simulated days.
   * @default 183
   */
  nDays?: number;
  /**
   * First simulated day, `YYYY-MM-DD`, taken as midnight UTC.
   * @default '2018-04-01'
   */
  startDate?: string;
  /**
   * A customer can use every terminal strictly closer than this (Euclidean distance on the
   * 100 x 100 square).
   * @default 5
   */
  radius?: number;
  /**
   * Seed of every random draw; the same options give the same transactions.
   * @default 0
   */
  seed?: number;
}

/** {@link SimulatorOptions} with every field present and validated. */
export interface ResolvedSimulatorOptions {
  readonly nCustomers: number;
  readonly nTerminals: number;
  readonly nDays: number;
  readonly startDate: string;
  readonly radius: number;
  readonly seed: number;
  /** `startDate` as epoch milliseconds (midnight UTC). */
  readonly startMs: number;
}

/** The book's run: 5,000 customers, 10,000 terminals, 183 days from 2018-04-01, radius 5. */
export const DEFAULT_SIMULATOR_OPTIONS = {
  nCustomers: 5000,
  nTerminals: 10000,
  nDays: 183,
  startDate: '2018-04-01',
  radius: 5,
  seed: 0,
} as const satisfies Required<SimulatorOptions>;

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Merges `options` over {@link DEFAULT_SIMULATOR_OPTIONS} and validates; throws {@link ConfigError}. */
export function resolveSimulatorOptions(options: SimulatorOptions = {}): ResolvedSimulatorOptions {
  const merged = { ...DEFAULT_SIMULATOR_OPTIONS, ...definedOnly(options) };
  const nCustomers = positiveInteger('nCustomers', merged.nCustomers);
  const nTerminals = positiveInteger('nTerminals', merged.nTerminals);
  const nDays = positiveInteger('nDays', merged.nDays);
  if (typeof merged.radius !== 'number' || !Number.isFinite(merged.radius) || merged.radius <= 0) {
    throw new ConfigError(`simulator radius must be a finite number > 0, got ${String(merged.radius)}`);
  }
  if (!Number.isSafeInteger(merged.seed) || merged.seed < 0) {
    throw new ConfigError(`simulator seed must be an integer >= 0, got ${String(merged.seed)}`);
  }
  const startMs = parseStartDate(merged.startDate);
  return {
    nCustomers,
    nTerminals,
    nDays,
    startDate: merged.startDate,
    radius: merged.radius,
    seed: merged.seed,
    startMs,
  };
}

function definedOnly(options: SimulatorOptions): SimulatorOptions {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) if (value !== undefined) out[key] = value;
  return out as SimulatorOptions;
}

function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(`simulator ${name} must be an integer >= 1, got ${String(value)}`);
  }
  return value;
}

function parseStartDate(value: unknown): number {
  const match = typeof value === 'string' ? DATE_PATTERN.exec(value) : null;
  if (match === null) {
    throw new ConfigError(`simulator startDate must be YYYY-MM-DD, got ${String(value)}`);
  }
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(year, month - 1, day);
  const check = new Date(ms);
  // Date.UTC silently rolls 2018-02-30 over to March; a calendar date must round-trip.
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    throw new ConfigError(`simulator startDate is not a calendar date: ${String(value)}`);
  }
  return ms;
}
