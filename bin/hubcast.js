#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=1048576 node --max-semi-space-size=1 --v8-pool-size=1
// Thin launcher so `npx hubcast …` works from a clone: the compiled CLI lives in dist/.
// The environment and node flags are `npm start`'s (test/ops/launcher.test.ts): glibc's malloc
// keeps blocks of 1 MiB and more in mappings of their own, given back when freed (its default
// threshold rises after large frees, and start-up buffers then stay in a heap never returned);
// a 1 MB young generation; one V8 helper thread instead of four (each thread's malloc arena
// stays resident). docs/operations.md#footprint has the figures.
import('../dist/cli.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('hubcast: dist/ is missing; run `npm run build` first');
    process.exit(1);
  }
  throw err;
});
