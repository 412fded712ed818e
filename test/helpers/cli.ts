/**
 * Helpers for tests that drive the built CLI (`dist/src/cli/main.js`, built by `npm test`)
 * against private redis-servers: run a command to completion, or start a long-running one
 * (`consume`) and stop it by its own pid with a chosen signal.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';

/** The built CLI, as `npx fraudstream` runs it. */
export const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

/** Simulator size shared by training and producing, small enough for tests. */
export const SMALL = ['--customers', '400', '--terminals', '800'] as const;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one CLI command to completion. `env` is merged over the test's environment. */
export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      'node',
      [CLI, ...args],
      { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/** A CLI process started by {@link startCli}. */
export interface CliProcess {
  readonly child: ChildProcess;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited (code, or the signal that ended it). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` to this process only, if it still runs. */
  signal(signal: NodeJS.Signals): void;
}

const running = new Set<ChildProcess>();

/** Starts a CLI command in the background; {@link killAllStarted} cleans up after a failed test. */
export function startCli(args: readonly string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn('node', [CLI, ...args], { env: { ...process.env, ...env } });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    signal(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

/** SIGKILLs every process {@link startCli} started that still runs (for afterEach/afterAll). */
export async function killAllStarted(): Promise<void> {
  const waits = [...running].map(
    (child) =>
      new Promise<void>((resolve) => {
        child.once('close', () => resolve());
        child.kill('SIGKILL');
      }),
  );
  await Promise.all(waits);
}

/** Polls `check` every `intervalMs` until it returns true; fails with `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Trains the small test bundle into `out` (about a second). */
export async function trainSmallBundle(out: string): Promise<void> {
  const r = await runCli([
    'train',
    ...SMALL,
    '--train-from',
    '2018-05-10',
    '--train-to',
    '2018-05-20',
    '--trees',
    '30',
    '--rcf-trees',
    '10',
    '--out',
    out,
  ]);
  if (r.code !== 0) throw new Error(`train failed (${r.code}): ${r.stderr}`);
  if (!/trained transactions bundle [0-9a-f]{16}/.test(r.stderr))
    throw new Error(`train did not report its bundle: ${r.stderr}`);
}

/** `produce --source simulator` of `count` records into a Redis stream; returns the CLI result. */
export function produceToRedis(
  url: string,
  stream: string,
  count: number,
  extra: readonly string[] = [],
): Promise<CliResult> {
  return runCli([
    'produce',
    '--source',
    'simulator',
    ...SMALL,
    '--days',
    '60',
    '--count',
    String(count),
    '--to',
    url,
    '--stream',
    stream,
    ...extra,
  ]);
}

/** A raw node-redis client for inspecting what the CLI left in Redis. */
export type RawRedis = ReturnType<typeof createClient>;

export async function connectRaw(url: string): Promise<RawRedis> {
  const client = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** XPENDING summary: how many entries of `group` on `key` are delivered but not acknowledged. */
export async function pendingCount(client: RawRedis, key: string, group: string): Promise<number> {
  const reply = (await client.sendCommand(['XPENDING', key, group])) as [number, ...unknown[]];
  return Number(reply[0]);
}

/** How many entries of `group` on `key` are pending for one consumer. */
export async function pendingFor(
  client: RawRedis,
  key: string,
  group: string,
  consumer: string,
): Promise<number> {
  const rows = (await client.sendCommand([
    'XPENDING',
    key,
    group,
    '-',
    '+',
    '100000',
    consumer,
  ])) as unknown[];
  return rows.length;
}

/** Ids of all entries of a stream key, read in pages. */
export async function streamIds(client: RawRedis, key: string): Promise<string[]> {
  const ids: string[] = [];
  let start = '-';
  for (;;) {
    const page = (await client.sendCommand(['XRANGE', key, start, '+', 'COUNT', '5000'])) as [
      string,
      unknown,
    ][];
    for (const [id] of page) ids.push(id);
    if (page.length < 5000) return ids;
    start = `(${page[page.length - 1]![0]}`;
  }
}

/** All keys matching `pattern`, by SCAN (never KEYS). */
export async function scanKeys(client: RawRedis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = (await client.sendCommand(['SCAN', cursor, 'MATCH', pattern, 'COUNT', '2000'])) as [
      string,
      string[],
    ];
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/**
 * Stream positions (`<shardKey>/<entryId>`) of the stored transaction documents under `prefix`:
 * a document key is `<prefix>tx:{s<i>}<transactionId>@<position>` when the consumer runs with
 * `--record-key id@position` (native records are keyed by id alone by default).
 */
export async function storedPositions(client: RawRedis, prefix: string): Promise<string[]> {
  const keys = await scanKeys(client, `${prefix}tx:*`);
  return keys.map((key) => key.slice(key.lastIndexOf('@') + 1));
}

/** Sum of the `persisted` fields of the consumer's `batch` log lines on stderr. */
export function persistedInLogs(stderr: string): number {
  let total = 0;
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; persisted?: number };
      if (entry.msg === 'batch' && typeof entry.persisted === 'number') total += entry.persisted;
    } catch {
      // A line still being written, or the progress line.
    }
  }
  return total;
}

/** Arguments of `consume` reading a Redis stream into the Redis store under `prefix`, then `extra`. */
export function redisConsumeArgs(
  from: string,
  stream: string,
  prefix: string,
  models: string,
  extra: readonly string[] = [],
): string[] {
  return ['consume', '--from', from, '--stream', stream, '--prefix', prefix, '--models', models, ...extra];
}
