import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CliProcess,
  killAllStarted,
  runCli,
  SMALL,
  startCli,
  trainSmallBundle,
  waitUntil,
} from '../helpers/cli.js';

/** `score --out` lines by key: the classifier's probability. */
function probabilities(file: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
    const r = JSON.parse(line) as { key: string; fraud_classifier: { pred_proba: number } };
    out.set(r.key, r.fraud_classifier.pred_proba);
  }
  return out;
}

describe('fraudstream serve-model and score --classifier-endpoint', () => {
  let dir: string;
  let server: CliProcess;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fraudstream-serve-model-'));
    await trainSmallBundle(join(dir, 'models'));
    server = startCli([
      'serve-model',
      '--models',
      join(dir, 'models'),
      '--model',
      'classifier',
      '--port',
      '0',
    ]);
    await waitUntil(
      'serve-model to listen',
      () => /at (http:\S+)\/invocations/.test(server.stderr()),
      30_000,
    );
    url = /at (http:\S+)\/invocations/.exec(server.stderr())![1]!;
  });

  afterAll(async () => {
    await killAllStarted();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers /ping and /invocations as documented', async () => {
    expect((await fetch(`${url}/ping`)).status).toBe(200);
    const manifest = JSON.parse(readFileSync(join(dir, 'models', 'manifest.json'), 'utf8')) as {
      featureNames: string[];
    };
    const row = manifest.featureNames.map((_, j) => String(j % 3)).join(',');
    const response = await fetch(`${url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: `${row}\n${row}\n`,
    });
    expect(response.status).toBe(200);
    const lines = (await response.text()).trim().split('\n').map(Number);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBeGreaterThan(0);
    expect(lines[0]).toBeLessThan(1);
    expect(lines[1]).toBe(lines[0]);
  });

  it('score through the endpoint gives the same classifier probabilities as in-process', async () => {
    const common = [
      'score',
      '--source',
      'simulator',
      ...SMALL,
      '--count',
      '1500',
      '--models',
      join(dir, 'models'),
    ];
    const local = await runCli([...common, '--out', join(dir, 'local.jsonl')]);
    expect(local.code, local.stderr).toBe(0);
    const remote = await runCli([
      ...common,
      '--out',
      join(dir, 'remote.jsonl'),
      '--classifier-endpoint',
      url,
    ]);
    expect(remote.code, remote.stderr).toBe(0);
    const a = probabilities(join(dir, 'local.jsonl'));
    const b = probabilities(join(dir, 'remote.jsonl'));
    expect(b.size).toBe(a.size);
    expect(a.size).toBeGreaterThan(1000);
    for (const [key, p] of a) expect(b.get(key), key).toBe(p);
  });

  it('stops on SIGTERM', async () => {
    server.signal('SIGTERM');
    expect((await server.exited).code).toBe(0);
  });
});
