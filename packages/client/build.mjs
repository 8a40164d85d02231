// Emits the package's JavaScript, one file per module as tsc lays them out (tsc emits the .d.ts,
// with their TSDoc, next to them). Comments and whitespace go: the documentation lives in the
// types, and the tarball stays small (the packaging test holds it under 30 KB). Names are kept,
// so stack traces read as the source does.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));
await build({
  absWorkingDir: root,
  entryPoints: ['src/**/*.ts'],
  outbase: 'src',
  outdir: 'dist',
  bundle: false,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
});
