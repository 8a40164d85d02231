/**
 * `npx hubcast …` (bin/hubcast.js's `#!/usr/bin/env -S` line) and `npm start` run node the same
 * way: the same environment (glibc's malloc threshold) and node flags, which the footprint figures
 * in docs/operations.md were measured with (bench:footprint reads the same line).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { productLauncher } from '../../bench/lib/launcher.js';

const ROOT = join(import.meta.dirname, '../..');

test('npm start sets the environment and node flags of the bin/hubcast.js launcher', () => {
  const launcher = productLauncher(ROOT);
  assert.ok(Object.keys(launcher.env).length > 0 && launcher.nodeArgs.length > 0, JSON.stringify(launcher));
  const start: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start;
  const assignments = Object.entries(launcher.env).map(([k, v]) => `${k}=${v}`);
  const expected = `exec env ${assignments.join(' ')} node ${launcher.nodeArgs.join(' ')} dist/cli.js start`;
  assert.ok(start.endsWith(expected), `npm start is ${JSON.stringify(start)}, expected it to end with ${expected}`);
});

test('the launcher line runs node with its environment and flags (GNU env -S)', () => {
  const launcher = productLauncher(ROOT);
  const first = readFileSync(join(ROOT, 'bin', 'hubcast.js'), 'utf8')
    .split('\n', 1)[0]
    .slice(2);
  // As the kernel runs a script: the interpreter, then the rest of the line as one argument.
  const space = first.indexOf(' ');
  const probe = 'console.log(JSON.stringify({ env: process.env, argv: process.execArgv }))';
  const out = JSON.parse(
    execFileSync(first.slice(0, space), [first.slice(space + 1), '-e', probe], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    }),
  );
  for (const [k, v] of Object.entries(launcher.env)) assert.equal(out.env[k], v, k);
  assert.deepEqual(out.argv.slice(0, launcher.nodeArgs.length), launcher.nodeArgs);
});
