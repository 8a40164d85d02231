// Bundles the example with esbuild into examples/react/dist/app.js (React included).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

export const options = {
  entryPoints: [fileURLToPath(new URL('app.tsx', import.meta.url))],
  bundle: true,
  format: 'esm',
  jsx: 'automatic',
  target: 'es2020',
  minify: true,
  define: { 'process.env.NODE_ENV': '"production"' },
  // `hubcast/react` and `hubcast/client` from this repository's sources.
  alias: { 'hubcast/react': fileURLToPath(new URL('../../packages/client/src/react/index.ts', import.meta.url)) },
  logLevel: 'warning',
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await build({ ...options, outfile: fileURLToPath(new URL('dist/app.js', import.meta.url)) });
  console.log('examples/react/dist/app.js built');
}
