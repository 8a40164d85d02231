// Renders the seed catalog's photos once, at build time, into
// dist/apps/catalog/seed-photos.bin (src/apps/catalog/seed-photos.ts says why). Run by
// `npm run build` after tsc; does nothing when the renderer and the seed list
// are unchanged since the last run.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/apps/catalog/seed-photos.bin`;
const stamp = `${out}.version`;
const hash = createHash('sha256');
for (const file of ['photo-art.js', 'seed-data.js', 'seed-photos.js'])
  hash.update(readFileSync(`${root}dist/apps/catalog/${file}`));
const want = `${hash.digest('hex')}\n`;
if (existsSync(out) && existsSync(stamp) && readFileSync(stamp, 'utf8') === want) process.exit(0);

const started = performance.now();
const { SEED_PRODUCTS } = await import(`${root}dist/apps/catalog/seed-data.js`);
const { encodeSeedPhotos } = await import(`${root}dist/apps/catalog/seed-photos.js`);
const bytes = encodeSeedPhotos(SEED_PRODUCTS.length);
writeFileSync(out, bytes);
writeFileSync(stamp, want);
if (!process.argv.includes('--quiet')) {
  console.log(
    `dist/apps/catalog/seed-photos.bin: ${SEED_PRODUCTS.length} photos, ${(bytes.length / 1024).toFixed(0)} KiB (${Math.round(performance.now() - started)} ms)`,
  );
}
