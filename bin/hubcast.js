#!/usr/bin/env node
// Thin launcher so `npx hubcast …` works from a clone: the compiled CLI lives in dist/.
import('../dist/cli.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('hubcast: dist/ is missing; run `npm run build` first');
    process.exit(1);
  }
  throw err;
});
