import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** A file the page loads, served from memory under `/assets/<name>`. */
export interface Asset {
  contentType: string;
  body: Buffer;
}

const require = createRequire(import.meta.url);

/**
 * The page's scripts and styles, read once. Only these names are served, so no request path
 * ever reaches the file system. uPlot comes from node_modules (no CDN: the page works offline);
 * the page's own files sit next to this module (`npm run build` copies them into `dist/`).
 */
export function loadAssets(): ReadonlyMap<string, Asset> {
  const own = (name: string): string => fileURLToPath(new URL(`./assets/${name}`, import.meta.url));
  const files: [string, string, string][] = [
    ['uPlot.iife.min.js', require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
    ['uPlot.min.css', require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8'],
    ['dashboard.js', own('dashboard.js'), 'text/javascript; charset=utf-8'],
    ['dashboard.css', own('dashboard.css'), 'text/css; charset=utf-8'],
  ];
  return new Map(files.map(([name, path, contentType]) => [name, { contentType, body: readFileSync(path) }]));
}
