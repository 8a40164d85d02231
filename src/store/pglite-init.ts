/**
 * `node pglite-init.js <dir>`: create an empty PGlite database in `dir` and
 * exit. PGlite's first open runs initdb in a second WASM instance and keeps a
 * dump of the new cluster in memory; doing it in a child process that exits
 * means the gateway never holds that memory (~600 MB resident at its peak).
 * `npm run build` runs it once for the template a first start copies
 * (scripts/build-pglite-template.mjs); the gateway runs it only without one.
 */
import { setFlagsFromString } from 'node:v8';
import { PGlite } from '@electric-sql/pglite';
import { PGLITE_START_PARAMS } from './pglite-params.js';

const dir = process.argv[2];
if (dir === undefined) {
  console.error('usage: pglite-init <data directory>');
  process.exit(2);
}
setFlagsFromString('--liftoff-only'); // as pglite.ts: less memory, no slower here
const db = await PGlite.create(dir, { startParams: PGLITE_START_PARAMS });
await db.close();
