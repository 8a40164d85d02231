#!/usr/bin/env -S node --max-semi-space-size=1 --v8-pool-size=1
// Thin launcher so `npx hubcast …` works from a clone: the compiled CLI lives in dist/.
// The node flags are `npm start`'s: a 1 MB young generation and one V8 helper thread instead of
// four (each thread's malloc arena stays resident); docs/operations.md#footprint has the figures.
import('../dist/cli.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('hubcast: dist/ is missing; run `npm run build` first');
    process.exit(1);
  }
  throw err;
});
