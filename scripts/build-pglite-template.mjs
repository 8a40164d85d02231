// Initializes an empty PGlite data directory once, at build time, in
// dist/store/pglite-template/: a first start copies it instead of running
// initdb (src/store/pglite.ts). Run by `npm run build` after tsc; does nothing
// when the template was made by the installed PGlite version already, so only
// the first build (and one after a PGlite upgrade) pays the ~6 s.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const template = join(root, 'dist', 'store', 'pglite-template');
const stamp = `${template}.version`;
const require = createRequire(import.meta.url);
// The package's exports hide package.json; its entry point sits in dist/ next to it.
const pkgDir = dirname(dirname(require.resolve('@electric-sql/pglite')));
const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
const want = `${version}\n`;

if (existsSync(join(template, 'PG_VERSION')) && existsSync(stamp) && readFileSync(stamp, 'utf8') === want)
  process.exit(0);

const started = performance.now();
const partial = `${template}.partial`;
rmSync(partial, { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'dist', 'store', 'pglite-init.js'), partial], { stdio: 'inherit' });
rmSync(template, { recursive: true, force: true });
renameSync(partial, template);
writeFileSync(stamp, want);
if (!process.argv.includes('--quiet')) {
  console.log(
    `dist/store/pglite-template: PGlite ${version} data directory (${Math.round(performance.now() - started)} ms)`,
  );
}
