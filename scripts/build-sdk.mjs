// Bundles the browser SDK (`@hubcast/client`, packages/client, as one ES module) for GET /sdk/hubcast.js, and
// prints its size raw and gzipped. Run by `npm run build` after tsc.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = `${root}dist/sdk/hubcast.js`;
const started = performance.now();
await build({
  entryPoints: [`${root}packages/client/src/index.ts`],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  sourcemap: 'linked',
  sourcesContent: true,
  legalComments: 'none',
  logLevel: 'warning',
});
const code = readFileSync(outfile);
if (!process.argv.includes('--quiet')) {
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(
    `dist/sdk/hubcast.js: ${kib(code.length)} raw, ${kib(gzipSync(code, { level: 9 }).length)} gzipped (${Math.round(performance.now() - started)} ms)`,
  );
}
