/**
 * The Python client ships `py.typed`: its annotations must hold. mypy --strict over the
 * package (Debian's python3-mypy, installed by `bash scripts/services.sh tools`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PYTHON = process.env.HUBCAST_PYTHON ?? '/usr/bin/python3';

test('the Python client type-checks with mypy --strict', () => {
  // Kept between runs: a cold run reads the stubs of the standard library (~7 s of CPU), a warm one
  // only what changed. mypy keys its cache on file contents, so reuse is safe.
  const cache = join(tmpdir(), 'hubcast-mypy-cache');
  const started = Date.now();
  const run = spawnSync(PYTHON, ['-m', 'mypy', '--strict', '--cache-dir', cache, '-p', 'hubcast'], {
    cwd: 'clients/python',
    env: { ...process.env, MYPYPATH: 'src' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  console.log(`mypy (${Date.now() - started} ms): ${(run.stdout || '').trim().split('\n').pop()}`);
  assert.equal(
    run.status,
    0,
    `mypy --strict failed (install python3-mypy with \`bash scripts/services.sh tools\`):\n${run.stdout}${run.stderr}`,
  );
});
