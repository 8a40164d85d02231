// Emits the package's JavaScript as one module per entry point (`.`, `./react`, `./wire`) plus
// the chunks they share, with comments and whitespace gone: one file compresses better than fifty,
// and the tarball stays small (the packaging test holds it under 30 KiB). tsc emits the .d.ts, with
// their TSDoc, one per source module; declarations tagged @internal, which no public type reaches,
// are stripped (tsconfig.json). Local names are shortened; function and class names are kept.
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));
// JavaScript an earlier build left (another layout) must not ship: keep only tsc's fresh .d.ts.
for (const entry of readdirSync(join(root, 'dist'), { recursive: true, withFileTypes: true })) {
  if (entry.isFile() && entry.name.endsWith('.js')) rmSync(join(entry.parentPath, entry.name));
}
await build({
  absWorkingDir: root,
  entryPoints: ['src/index.ts', 'src/react/index.ts', 'src/wire/index.ts'],
  outbase: 'src',
  outdir: 'dist',
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  // Peers: the application brings them (ws and eventsource only where Node lacks the globals).
  external: ['react', 'ws', 'eventsource'],
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  minifyWhitespace: true,
  minifySyntax: true,
  minifyIdentifiers: true,
  // Function and class names survive the renaming: stack traces and `constructor.name` read as the source does.
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
});
