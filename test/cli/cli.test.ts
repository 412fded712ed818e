import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli as run, SMALL, trainSmallBundle } from '../helpers/cli.js';

/** Counts stdout lines without holding them, for large outputs. */
function countLines(args: string[]): Promise<{ code: number; lines: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('node', [CLI, ...args]);
    let lines = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      for (const byte of chunk) if (byte === 10) lines++;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('close', (code) => resolve({ code: code ?? 1, lines, stderr }));
  });
}

describe('fraudstream CLI', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fraudstream-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('produces 100,000 simulated transactions to stdout, one per line, with the summary on stderr', async () => {
    const r = await countLines([
      'produce',
      '--source',
      'simulator',
      '--count',
      '100000',
      '--max',
      '--to',
      'stdout',
    ]);
    expect(r.code).toBe(0);
    expect(r.lines).toBe(100_000);
    expect(r.stderr).toMatch(/produced 100,000 records from simulator to stdout/);
  }, 60_000);

  it('answers bad input with a one-line reason and exit code 2', async () => {
    const missing = await run(['produce', '--source', `creditcard:${join(dir, 'nope.csv')}`, '--count', '1']);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/^fraudstream: .*nope\.csv/);
    const unknown = await run(['produce', '--source', 'nonsense']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown source "nonsense"/);
    const badFile = join(dir, 'bad.csv');
    await writeFile(badFile, 'Time,V1,Amount\n1,2,3\n');
    const header = await run(['produce', '--source', `creditcard:${badFile}`, '--count', '1']);
    expect(header.code).toBe(2);
    expect(header.stderr).toMatch(/header/i);
  });

  it('trains, scores a recorded file with malformed lines, and writes one result per transaction', async () => {
    const models = join(dir, 'models');
    await trainSmallBundle(models);
    const produced = await run([
      'produce',
      '--source',
      'simulator',
      ...SMALL,
      '--count',
      '2000',
      '--days',
      '60',
    ]);
    const recording = join(dir, 'traffic.jsonl');
    await writeFile(recording, `${produced.stdout}not json\n\n{"id":"x"}\n`);
    const out = join(dir, 'results.jsonl');
    const score = await run(['score', '--source', `jsonl:${recording}`, '--models', models, '--out', out]);
    expect(score.code, score.stderr).toBe(0);
    const summary = JSON.parse(score.stdout.trim().split('\n').pop()!);
    expect(summary.processed).toBe(2000);
    expect(summary.deadLettered).toBe(3);
    expect(summary.decisions.approve + summary.decisions.review + summary.decisions.decline).toBe(2000);
    const results = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(results).toHaveLength(2000);
    expect(results[0]).toHaveProperty('fraud_classifier.pred_proba');
    expect(new Set(results.map((r) => r.id)).size).toBe(2000);
  }, 120_000);

  it('runs the demo end to end and prints a machine-readable summary', async () => {
    const r = await run(['demo', ...SMALL, '--count', '3000', '--history-days', '40', '--train-days', '7']);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(summary.live).toBe(3000);
    expect(summary.approve + summary.review + summary.decline).toBe(3000);
    expect(summary.throughputPerSecond).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/trained on [\d,]+ transactions/);
  }, 120_000);

  it('reads defaults from a config file and lets flags override them', async () => {
    const config = join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ produce: { count: 7, source: 'simulator' } }));
    const fromFile = await run(['--config', config, 'produce', '--source', 'simulator']);
    expect(fromFile.stdout.trim().split('\n')).toHaveLength(7);
    const overridden = await run(['--config', config, 'produce', '--source', 'simulator', '--count', '3']);
    expect(overridden.stdout.trim().split('\n')).toHaveLength(3);
  });
});
