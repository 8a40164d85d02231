/**
 * Smoke run of bench:presence (300 members in a second, one gateway process, in-process
 * store): it keeps working, every member is listed by paging, and the room crossed into
 * `presence.diff` (the 99 joins below the threshold alone, the rest coalesced). The
 * figures themselves are not asserted (the machine is shared).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

test('bench:presence --smoke: every member joins and is paged; big-room joins go out as presence.diff', {
  timeout: 90_000,
}, () => {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/presence.ts', '--smoke'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 80_000,
  });
  assert.equal(r.status, 0, `bench exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  console.log(
    r.stdout
      .split('\n')
      .map((l) => `# ${l}`)
      .join('\n'),
  );
  assert.match(r.stdout, /presence\.join 99, presence\.diff \d+/);
  assert.match(r.stdout, /full member list: 301 members in 1 pages of 1000/);
  assert.match(r.stdout, /presence tracker \+ in-process store alone [\d,]+ B/);
});
