/**
 * Test harness for tests that need Redis: each suite starts its own `redis-server` (or a small
 * cluster) on free ports in a temporary directory, and stops it by its own pid. Tests never
 * touch a Redis that happens to run on the machine (e.g. 127.0.0.1:6379).
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isCI } from './ci.js';

/** A running redis-server started by {@link startRedisServer}. */
export interface RedisServerHandle {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** pid of the current process (changes after {@link RedisServerHandle.restart}). */
  pid: number;
  /** Stops the server (SIGTERM, then SIGKILL after a timeout) and removes its directory. */
  stop(): Promise<void>;
  /**
   * Stops and starts the server again on the same port and directory (AOF data survives if
   * enabled), after `downMs` (default 0) with nothing listening: an outage, not just a restart.
   */
  restart(options?: { downMs?: number }): Promise<void>;
}

/** A running Redis Cluster started by {@link startRedisCluster}. */
export interface RedisClusterHandle {
  /** Seed nodes for node-redis `createCluster({ rootNodes })`. */
  rootNodes: { url: string }[];
  stop(): Promise<void>;
}

const STOP_TIMEOUT_MS = 5_000;
const START_TIMEOUT_MS = 15_000;

/** Path of the redis-server binary: `$REDIS_SERVER_BIN`, else `redis-server` found on PATH, else undefined. */
export function findRedisServerBin(): string | undefined {
  const override = process.env.REDIS_SERVER_BIN;
  if (override) return isExecutable(override) ? override : undefined;
  return findOnPath('redis-server');
}

/** Path of redis-cli: next to the chosen redis-server, else on PATH. */
function findRedisCliBin(): string | undefined {
  const server = findRedisServerBin();
  if (server?.includes('/')) {
    const sibling = join(server, '..', 'redis-cli');
    if (isExecutable(sibling)) return sibling;
  }
  return findOnPath('redis-cli');
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether the tests run on CI, where integration tests must not skip: one definition, in `ci.ts`. */
export { isCI };

/**
 * Gate for suites that need redis-server. Returns `true` when the suite must be skipped
 * (use with `describe.skipIf(skipWithoutRedis())`), printing why. On CI (`CI=true`, `1` or `yes`) a missing
 * binary is a failure, not a skip, so the integration tests cannot silently stop running.
 */
export function skipWithoutRedis(
  needs: readonly ('redis-server' | 'redis-cli')[] = ['redis-server'],
): boolean {
  const missing: string[] = [];
  if (needs.includes('redis-server') && !findRedisServerBin()) {
    missing.push(
      process.env.REDIS_SERVER_BIN
        ? `redis-server ($REDIS_SERVER_BIN=${process.env.REDIS_SERVER_BIN})`
        : 'redis-server',
    );
  }
  if (needs.includes('redis-cli') && !findRedisCliBin()) missing.push('redis-cli');
  if (missing.length === 0) return false;
  const reason = `${missing.join(' and ')} not found on PATH (set REDIS_SERVER_BIN or install redis-server)`;
  if (isCI()) throw new Error(`Redis integration tests cannot run on CI: ${reason}`);
  console.warn(`Skipping Redis integration tests: ${reason}`);
  return true;
}

/** The module files a module server loads (RedisTimeSeries, ReJSON), as in `../shared/redis-modules/README.md`. */
const MODULE_FILES = ['redistimeseries.so', 'rejson.so'] as const;

/**
 * Folder holding the Redis module builds: `$FRAUDSTREAM_REDIS_MODULES` when set, else
 * `../shared/redis-modules` beside the project root (CI's fresh clone has `shared/` there), else
 * the same beside the main checkout when this is a git worktree elsewhere. Undefined when none
 * has both files.
 */
export function findRedisModulesDir(): string | undefined {
  const override = process.env.FRAUDSTREAM_REDIS_MODULES;
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const candidates = override ? [override] : [resolve(root, '..', 'shared', 'redis-modules')];
  if (!override) {
    try {
      const common = execFileSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
      candidates.push(resolve(common, '..', '..', 'shared', 'redis-modules'));
    } catch {
      // Not a git checkout (e.g. an unpacked tarball): the first candidate is all there is.
    }
  }
  return candidates.find((dir) => MODULE_FILES.every((file) => existsSync(join(dir, file))));
}

/**
 * Gate for suites that need a redis-server with RedisTimeSeries and ReJSON loaded. Returns
 * `true` when the suite must be skipped, printing why; on CI a missing module or server throws.
 */
export function skipWithoutRedisModules(): boolean {
  if (skipWithoutRedis()) return true;
  if (findRedisModulesDir()) return false;
  const reason =
    `Redis modules (${MODULE_FILES.join(', ')}) not found in ../shared/redis-modules beside the project ` +
    '(set FRAUDSTREAM_REDIS_MODULES to their folder)';
  if (isCI()) throw new Error(`Redis module tests cannot run on CI: ${reason}`);
  console.warn(`Skipping Redis module tests: ${reason}`);
  return true;
}

/** A random key prefix such as `test:3f9a1c2b:` so tests sharing a server never see each other's keys. */
export function randomKeyPrefix(label = 'test'): string {
  return `${label}:${randomBytes(4).toString('hex')}:`;
}

/** Finds a free TCP port by binding port 0 and closing it again. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Sends one inline command on a fresh socket and returns the raw reply text (enough for PING / CLUSTER INFO). */
async function rawCommand(port: number, command: string, timeoutMs = 1_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timeout waiting for reply to ${command}`));
    }, timeoutMs);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      // Simple string (+PONG) or a complete bulk string ($len\r\n...\r\n) ends the reply.
      const bulk = /^\$(\d+)\r\n/.exec(reply);
      const done = reply.startsWith('+') || reply.startsWith('-') ? reply.endsWith('\r\n') : bulk !== null;
      if (done && (!bulk || reply.length >= bulk[0].length + Number(bulk[1]) + 2)) {
        clearTimeout(timer);
        socket.end();
        resolve(reply);
      }
    });
    socket.connect(port, '127.0.0.1', () => socket.write(`${command}\r\n`));
  });
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = START_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
}

interface ProcessSpec {
  port: number;
  dir: string;
  extraArgs: string[];
}

/** Servers still running; killed if the test process exits without stopping them. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: a plain kill of our own children, nothing else.
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

function spawnServer(spec: ProcessSpec): ChildProcess {
  const bin = findRedisServerBin();
  if (!bin) throw new Error('redis-server not found (set REDIS_SERVER_BIN or install redis-server)');
  const args = [
    '--port',
    String(spec.port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--dir',
    spec.dir,
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
    ...spec.extraArgs,
  ];
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.resume();
  track(child);
  return child;
}

async function startProcess(spec: ProcessSpec): Promise<ChildProcess> {
  const child = spawnServer(spec);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  await waitFor(`redis-server on port ${spec.port}`, async () => {
    if (exited) throw new Error(`redis-server on port ${spec.port} exited during start-up`);
    return (await rawCommand(spec.port, 'PING')).startsWith('+PONG');
  });
  return child;
}

/** Stops exactly this child: SIGTERM, then SIGKILL if it has not exited within the timeout. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts a private redis-server on a free port (or `options.port`) with no RDB snapshots and a
 * temporary working directory. `appendOnly: true` enables AOF so that data survives `restart()`.
 * `modules: true` loads RedisTimeSeries and ReJSON from {@link findRedisModulesDir} (gate the
 * suite with {@link skipWithoutRedisModules}). `extraArgs` are passed on (e.g. `--maxmemory`).
 */
export async function startRedisServer(
  options: { appendOnly?: boolean; port?: number; modules?: boolean; extraArgs?: string[] } = {},
): Promise<RedisServerHandle> {
  const port = options.port ?? (await freePort());
  const extraArgs = ['--appendonly', options.appendOnly ? 'yes' : 'no', ...(options.extraArgs ?? [])];
  if (options.modules) {
    const modulesDir = findRedisModulesDir();
    if (!modulesDir) throw new Error('Redis modules not found (see skipWithoutRedisModules)');
    for (const file of MODULE_FILES) extraArgs.push('--loadmodule', join(modulesDir, file));
  }
  const dir = mkdtempSync(join(tmpdir(), 'fraudstream-redis-'));
  const spec: ProcessSpec = { port, dir, extraArgs };
  let child = await startProcess(spec);
  const handle: RedisServerHandle = {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    async stop() {
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    },
    async restart({ downMs = 0 } = {}) {
      await stopProcess(child);
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      child = await startProcess(spec);
      handle.pid = child.pid ?? -1;
    },
  };
  return handle;
}

/**
 * Starts a Redis Cluster of `masters` (3) nodes without replicas on free ports, joins it with
 * `redis-cli --cluster create` and waits until every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(options: { masters?: 3 } = {}): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
  const cli = findRedisCliBin();
  if (!cli) throw new Error('redis-cli not found (needed to create a cluster)');
  const dir = mkdtempSync(join(tmpdir(), 'fraudstream-redis-cluster-'));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((child) => stopProcess(child)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      ports.push(port);
      children.push(
        await startProcess({
          port,
          dir,
          extraArgs: [
            '--appendonly',
            'no',
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, `nodes-${port}.conf`),
            '--cluster-node-timeout',
            '5000',
          ],
        }),
      );
    }
    await new Promise<void>((resolve, reject) => {
      execFile(
        cli,
        [
          '--cluster',
          'create',
          ...ports.map((p) => `127.0.0.1:${p}`),
          '--cluster-replicas',
          '0',
          '--cluster-yes',
        ],
        { timeout: START_TIMEOUT_MS },
        (error, _stdout, stderr) =>
          error
            ? reject(new Error(`redis-cli --cluster create failed: ${stderr}`, { cause: error }))
            : resolve(),
      );
    });
    for (const port of ports) {
      await waitFor(`cluster_state:ok on port ${port}`, async () =>
        (await rawCommand(port, 'CLUSTER INFO')).includes('cluster_state:ok'),
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { rootNodes: ports.map((port) => ({ url: `redis://127.0.0.1:${port}` })), stop };
}
