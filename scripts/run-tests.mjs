#!/usr/bin/env node
// Runs the suite with node's test runner. Node 20's `--test` takes no globs,
// so the files are found here. `*.serial.test.ts` files (those that restart
// shared services) run after the rest, one at a time.
// Usage: node scripts/run-tests.mjs [path-substring …]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out.sort();
}

const filters = process.argv.slice(2);
const files = walk('test').filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
const serial = files.filter((f) => f.endsWith('.serial.test.ts'));
const parallel = files.filter((f) => !f.endsWith('.serial.test.ts'));

function run(list, concurrency) {
  if (list.length === 0) return 0;
  // --test-force-exit: a file whose tests are done exits even if a failed test left a socket or
  // a child open; without it such a file hangs the run until CI's time limit, with no output.
  const args = ['--import', 'tsx', '--test', '--test-force-exit', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...list];
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  return r.status ?? 1;
}

const a = run(parallel, Math.max(2, availableParallelism()));
const b = run(serial, 1);
process.exit(a || b);
