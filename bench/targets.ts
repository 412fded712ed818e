/**
 * The target lines of issue 10, shared by every benchmark that measures one (`peer`, `pipeline`,
 * `soak`): each bench calls {@link reportTarget} where it has the figure, which prints the line at
 * once and keeps it, and `bench/run.ts` prints all kept lines again at the end, so
 * `npm run bench -- peer pipeline` ends with every target, its measured value and ✅ or ❌.
 */

export interface TargetLine {
  /** What is measured, e.g. `embedded, one core`. */
  name: string;
  /** The target in words, e.g. `≥ 60,000 tx/s`. */
  target: string;
  /** The measured value in words, e.g. `31,200 tx/s (52%)`. */
  measured: string;
  met: boolean;
}

/** Every target the benchmark names, in the order of the issue; lines not measured in a run say so. */
export const TARGET_NAMES = [
  'lab path through Redis vs the Python peer',
  'transactions path through Redis, sustained over ≥ 1M',
  'transactions path through Redis vs record by record',
  'embedded, one core',
  'latency through Redis at 10,000 tx/s offered, p99 open-loop',
  'latency clock resolution',
  "demo's printed p99 at its default rate",
  'memory: RSS over a 10M-transaction soak',
] as const;

export type TargetName = (typeof TARGET_NAMES)[number];

const reported: (TargetLine & { name: TargetName })[] = [];

export function formatTargetLine(line: TargetLine): string {
  return `${line.met ? '✅' : '❌'} ${line.name}: ${line.measured} (target ${line.target})`;
}

/** Prints a target line now and keeps it for {@link printTargetSummary}. */
export function reportTarget(line: TargetLine & { name: TargetName }): void {
  reported.push(line);
  console.log(`  target ${formatTargetLine(line)}`);
}

/** Lines reported so far in this process. */
export function reportedTargets(): readonly TargetLine[] {
  return reported;
}

/**
 * Prints every reported line, grouped at the end of a run. `only` (the benches that ran) keeps
 * the summary to what the run could measure; targets none of them measured are listed as such.
 */
export function printTargetSummary(): void {
  if (reported.length === 0) return;
  console.log('\n===== targets (issue 10) =====');
  for (const line of reported) console.log(formatTargetLine(line));
  const missing = TARGET_NAMES.filter((n) => !reported.some((r) => r.name === n));
  if (missing.length > 0) {
    console.log(
      `not measured in this run: ${missing.join('; ')} (peer: lab path; pipeline: Redis, embedded, latency, demo; soak: memory)`,
    );
  }
}

/** `12,345` */
export function fmt(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}

/** Wall-clock time in epoch milliseconds with sub-millisecond resolution (`Date.now()` has 1 ms steps). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The smallest non-zero step of {@link nowMs} seen over many reads, in ms. */
export function clockResolutionMs(): number {
  let smallest = Number.POSITIVE_INFINITY;
  let last = nowMs();
  for (let i = 0; i < 200_000; i++) {
    const t = nowMs();
    if (t > last) {
      smallest = Math.min(smallest, t - last);
      last = t;
    }
  }
  return smallest;
}
