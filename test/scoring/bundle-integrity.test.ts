import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundleError, ConfigError } from '../../src/errors/index.js';
import {
  type BundleManifest,
  loadBundle,
  type ModelBundle,
  reloadIncompatibility,
  Scorer,
  saveBundle,
  type TrainedBundle,
} from '../../src/scoring/index.js';
import { trainSmallBundle } from './fixtures.js';

let trained: TrainedBundle;
let root: string;
let dir: string;

beforeAll(async () => {
  trained = await trainSmallBundle();
  root = await mkdtemp(join(tmpdir(), 'fraudstream-bundle-'));
  dir = join(root, 'good');
  await saveBundle(dir, trained);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function copyBundle(name: string, edit?: (manifest: BundleManifest) => void): Promise<string> {
  const target = join(root, name);
  const loaded = await loadBundle(dir);
  edit?.(loaded.manifest);
  await saveBundle(target, loaded);
  return target;
}

async function readManifest(at: string): Promise<BundleManifest> {
  return JSON.parse(await readFile(join(at, 'manifest.json'), 'utf8')) as BundleManifest;
}

describe('model file digests', () => {
  it('records the SHA-256 and size of each model file in the manifest', async () => {
    const manifest = await readManifest(dir);
    const files = [manifest.gbdt.file, manifest.rcf.file];
    expect(Object.keys(manifest.files ?? {}).sort()).toEqual([...files].sort());
    for (const file of files) {
      const bytes = await readFile(join(dir, file));
      expect(manifest.files?.[file]).toEqual({
        sha256: createHash('sha256').update(bytes).digest('hex'),
        bytes: bytes.length,
      });
    }
    expect((await loadBundle(dir)).manifest.fingerprint).toBe(trained.manifest.fingerprint);
  });

  it('refuses a model file changed after saving, even when it is still valid JSON', async () => {
    const at = await copyBundle('tampered');
    const file = join(at, trained.manifest.gbdt.file);
    const model = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    // One changed value: the classifier would load and score, just differently.
    await writeFile(file, JSON.stringify(model).replace(/"baseMargin":(-?[\d.e+-]+)/, '"baseMargin":0.123'));
    expect(await readFile(file, 'utf8')).toContain('"baseMargin":0.123');
    const error = await loadBundle(at).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BundleError);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as BundleError).message).toMatch(/gbdt\.json does not match the manifest \(SHA-256/);
    expect((error as BundleError).dir).toBe(at);
  });

  it('refuses a truncated model file', async () => {
    const at = await copyBundle('truncated');
    const file = join(at, trained.manifest.rcf.file);
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.slice(0, text.length >> 1));
    await expect(loadBundle(at)).rejects.toThrow(/rcf\.json does not match the manifest/);
  });

  it('loads a bundle saved before digests existed, with a warning', async () => {
    const at = await copyBundle('legacy');
    const manifest = await readManifest(at);
    delete manifest.files;
    await writeFile(join(at, 'manifest.json'), JSON.stringify(manifest));
    const warnings: string[] = [];
    const loaded = await loadBundle(at, { onWarning: (m) => warnings.push(m) });
    expect(loaded.manifest.fingerprint).toBe(trained.manifest.fingerprint);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/no SHA-256 .* unverified/);
    // A current bundle loads without one.
    await loadBundle(dir, { onWarning: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
  });

  it('refuses a manifest whose digests omit a model file', async () => {
    const at = await copyBundle('partial');
    const manifest = await readManifest(at);
    delete manifest.files?.[trained.manifest.rcf.file];
    await writeFile(join(at, 'manifest.json'), JSON.stringify(manifest));
    await expect(loadBundle(at)).rejects.toThrow(/records no SHA-256 of rcf\.json/);
  });
});

describe('hot reload compatibility', () => {
  const variants: [string, (m: BundleManifest) => void, RegExp][] = [
    ['another feature set', (m) => Object.assign(m, { featureSet: 'creditcard' }), /feature set creditcard/],
    [
      'another label delay',
      (m) => Object.assign(m, { delayDays: 3 }),
      /label delay 3 days .* running 7 days/,
    ],
    [
      'reordered feature names',
      (m) => {
        const names = [...m.featureNames];
        [names[0], names[1]] = [names[1]!, names[0]!];
        m.featureNames = names;
      },
      /feature names differ .*column 0/,
    ],
    ['renamed feature', (m) => m.featureNames.splice(14, 1, 'other'), /column 14: other instead of/],
    ['a feature fewer', (m) => m.featureNames.pop(), /14 columns instead of 15/],
  ];

  function retrained(edit: (m: BundleManifest) => void): ModelBundle {
    const manifest = structuredClone(trained.manifest);
    edit(manifest);
    manifest.fingerprint = 'eeeeeeeeeeeeeeee';
    return { manifest, gbdt: trained.gbdt, rcf: trained.rcf };
  }

  for (const [name, edit, reason] of variants) {
    it(`refuses a bundle with ${name} and keeps scoring with the old one`, () => {
      const scorer = new Scorer(trained);
      const next = retrained(edit);
      expect(reloadIncompatibility(trained.manifest, next.manifest)).toMatch(reason);
      expect(() => scorer.reload(next, '/models/x')).toThrow(BundleError);
      expect(() => scorer.reload(next, '/models/x')).toThrow(/model bundle \/models\/x: refused: /);
      expect(scorer.version).toBe(trained.manifest.fingerprint);
      const { x, nCols } = trained.trainingSet;
      expect(scorer.scoreBatch(x.subarray(0, nCols), 1).modelVersion).toBe(trained.manifest.fingerprint);
    });
  }

  it('accepts a retrained bundle on the same features and delay', () => {
    const scorer = new Scorer(trained);
    const next = retrained((m) => Object.assign(m, { thresholds: { review: 0, decline: 2 } }));
    expect(reloadIncompatibility(trained.manifest, next.manifest)).toBeUndefined();
    scorer.reload(next);
    expect(scorer.version).toBe('eeeeeeeeeeeeeeee');
    const { x, nCols } = trained.trainingSet;
    expect(scorer.scoreBatch(x.subarray(0, nCols), 1).decisions[0]).toBe('review');
  });
});
