// Bundles the AWS Lambda function (src/lambda/index.ts) and everything it imports into one
// ES module, dist/lambda/index.mjs, whose `handler` export is the function's entry point.
//
//   node scripts/build-lambda.mjs [--outdir DIR] [--models BUNDLE_DIR]
//
// --models copies a model bundle into DIR/models, where the function looks by default
// (FRAUDSTREAM_MODELS), so `sam deploy` ships code and models together.
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const { values } = parseArgs({
  options: { outdir: { type: 'string', default: join(root, 'dist/lambda') }, models: { type: 'string' } },
});
const outdir = resolve(values.outdir);
mkdirSync(outdir, { recursive: true });

const result = await build({
  entryPoints: [join(root, 'src/lambda/index.ts')],
  outfile: join(outdir, 'index.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  // Lambda's nodejs20.x runtime; the AWS SDK is bundled too, so the function does not depend
  // on the SDK version the runtime happens to carry.
  target: 'node20',
  minify: true,
  // Error classes and pino bindings keep readable names in logs and stack traces.
  keepNames: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  metafile: true,
  // CommonJS dependencies call require() for Node built-ins; an ES module has no require.
  banner: {
    js: "import { createRequire as __fraudstreamRequire } from 'node:module'; const require = __fraudstreamRequire(import.meta.url);",
  },
});

if (values.models) {
  const from = resolve(values.models);
  if (!existsSync(join(from, 'manifest.json'))) {
    console.error(`build-lambda: ${from} is not a model bundle (no manifest.json)`);
    process.exit(1);
  }
  rmSync(join(outdir, 'models'), { recursive: true, force: true });
  cpSync(from, join(outdir, 'models'), { recursive: true, filter: (src) => !src.endsWith('.tmp') });
}

const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
console.error(
  `build-lambda: ${join(outdir, 'index.mjs')} (${(bytes / 1024 / 1024).toFixed(1)} MiB with source map)${values.models ? `, models from ${values.models}` : ''}`,
);
