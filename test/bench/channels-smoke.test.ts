/**
 * Smoke run of bench:channels (in-process, a second or two): it keeps
 * working, and a publish to a new channel name at 10,000 channels stays
 * within a small factor of one at 10 channels (a scan of the rings would
 * make it ~100 times dearer).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

test('bench:channels --smoke prints µs per publish at 10 and 10,000 channels', { timeout: 60_000 }, () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/history-channels.ts', '--smoke', '--json'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 50_000,
  });
  assert.equal(r.status, 0, `bench exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  console.log(
    r.stdout
      .split('\n')
      .slice(1)
      .map((l) => `# ${l}`)
      .join('\n'),
  );
  const { results } = JSON.parse(r.stdout.split('\n')[0]) as {
    results: Array<{ channels: number; existingMicros: number; freshMicros: number }>;
  };
  assert.deepEqual(
    results.map((x) => x.channels),
    [10, 10_000],
  );
  const [small, large] = results;
  // Loose: the machine is shared. The old scan cost ~150 µs at 10,000 channels.
  assert.ok(large.freshMicros < 50, `new-name publish at 10,000 channels: ${large.freshMicros.toFixed(1)} µs`);
  assert.ok(small.existingMicros > 0 && large.existingMicros > 0);
});
