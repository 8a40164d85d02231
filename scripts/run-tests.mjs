#!/usr/bin/env node
// Runs the suite with node's test runner. Node 20's `--test` takes no globs,
// so the files are found here. `*.serial.test.ts` files (those that restart
// shared services) run after the rest, one at a time.
// `--unit` keeps only the files that need no service (see needsServices below): the lane a
// contributor without root or services runs (`npm run test:unit`).
// `--list` prints the chosen files instead of running them.
// Usage: node scripts/run-tests.mjs [--unit] [--list] [path-substring …]
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
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

// A file needs services when it, or a test file it imports, talks to PostgreSQL, Redis,
// RabbitMQ, nginx or Chromium: through the service helpers, a client library, or the scripts.
const SERVICE_HELPERS = new Set(['test/helpers/services.ts', 'test/helpers/browser.ts']);
// `// needs: <what>` at the top of a test file declares a need the imports do not show
// (the npm registry of a fresh clone's `npm install`).
const SERVICE_MARKERS = [
  /from '(pg|ioredis|amqplib|playwright-core)'/,
  /\bnginx\b/,
  /services\.sh/,
  /HUBCAST_TEST_/,
  /^\/\/ needs: /m,
];
const verdicts = new Map();

function needsServices(file) {
  if (verdicts.has(file)) return verdicts.get(file);
  verdicts.set(file, false);
  const text = readFileSync(file, 'utf8');
  let needs = SERVICE_HELPERS.has(file) || SERVICE_MARKERS.some((re) => re.test(text));
  for (const [, spec] of text.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
    if (needs) break;
    const target = resolve(dirname(file), spec)
      .replace(/\.js$/, '.ts')
      .slice(process.cwd().length + 1);
    // Import-like text inside a test's own strings (a fixture tree) names no file: skipped.
    if (target.startsWith('test/') && existsSync(target)) needs = needsServices(target);
  }
  verdicts.set(file, needs);
  return needs;
}

const unit = process.argv.includes('--unit');
const list = process.argv.includes('--list');
const filters = process.argv.slice(2).filter((a) => a !== '--unit' && a !== '--list');
const files = walk('test')
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .filter((f) => !unit || !needsServices(f));
const serial = files.filter((f) => f.endsWith('.serial.test.ts'));
const parallel = files.filter((f) => !f.endsWith('.serial.test.ts'));

if (list) {
  console.log(files.join('\n'));
  process.exit(0);
}

function run(chosen, concurrency) {
  if (chosen.length === 0) return 0;
  // --test-force-exit: a file whose tests are done exits even if a failed test left a socket or
  // a child open; without it such a file hangs the run until CI's time limit, with no output.
  const args = [
    '--import',
    'tsx',
    '--test',
    '--test-force-exit',
    `--test-concurrency=${concurrency}`,
    '--test-reporter=spec',
    ...chosen,
  ];
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  return r.status ?? 1;
}

const a = run(parallel, Math.max(2, availableParallelism()));
const b = run(serial, 1);
process.exit(a || b);
