/**
 * Smoke run of bench:photo (~10 s): the gateway with a Redis of its own and
 * PostgreSQL, autocannon in a separate process, one second per phase, nginx
 * as the peer. Figures are not asserted (the machine may be busy); that every
 * request was answered as expected, and the hit ratios each phase is built
 * for, are.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceUrls } from '../helpers/services.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface PhotoResult {
  server: string;
  phase: string;
  requests: number;
  reqPerSec: number;
  statuses: Record<string, number>;
  unexpected: number;
  errors: number;
  timeouts: number;
  hitRatio: number | null;
  latencyMs: { p99: number };
  serverMicrosPerRequest: number;
}

test('bench:photo --smoke measures HITs, MISSes and 304s against nginx with every response as expected', {
  timeout: 90_000,
}, (t) => {
  serviceUrls(); // fails clearly when the services are not configured
  const dir = mkdtempSync(join(tmpdir(), 'hubcast-bench-smoke-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'photo.json');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/photo.ts', '--smoke', '--out', out], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 80_000,
  });
  assert.equal(r.status, 0, `bench exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /req\/s/);
  assert.match(r.stdout, /unexpected statuses=0 errors=0/);
  assert.ok(
    existsSync(out.replace(/\.json$/, '-throughput.svg')) && existsSync(out.replace(/\.json$/, '-cpu.svg')),
    'SVG charts written',
  );
  const { results } = JSON.parse(readFileSync(out, 'utf8')) as { results: PhotoResult[] };
  assert.deepEqual(
    results.map((x) => `${x.server} ${x.phase}`),
    ['hubcast hit', 'hubcast miss', 'hubcast revalidate', 'nginx get', 'nginx revalidate'],
  );
  for (const x of results) {
    const what = `${x.server} ${x.phase}`;
    assert.ok(x.requests > 0, `${what}: requests made`);
    assert.equal(x.unexpected, 0, `${what}: statuses ${JSON.stringify(x.statuses)}`);
    assert.equal(x.errors + x.timeouts, 0, `${what}: no connection errors or timeouts`);
    assert.ok(Number.isFinite(x.latencyMs.p99) && x.latencyMs.p99 > 0, `${what}: latency measured`);
    assert.ok(x.serverMicrosPerRequest > 0, `${what}: server CPU measured`);
  }
  const [hit, miss, revalidate] = results;
  // Everything cached and nothing evicted; a cache read may still time out on a loaded machine.
  assert.ok(hit.hitRatio !== null && hit.hitRatio > 0.9, `hit phase hit ratio ${hit.hitRatio}`);
  // 60 photos cycling through an LRU with room for 10.
  assert.ok(miss.hitRatio !== null && miss.hitRatio < 0.5, `miss phase hit ratio ${miss.hitRatio}`);
  assert.deepEqual(Object.keys(revalidate.statuses), ['304']);
});
