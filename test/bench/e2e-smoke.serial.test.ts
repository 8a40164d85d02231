/**
 * Smoke run of bench:e2e against the real services (generator → RabbitMQ →
 * gateway + PostgreSQL → WS clients): a couple of seconds at 100 events/s.
 * Needs the HUBCAST_TEST_* variables that `npm test` sets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceUrls } from '../helpers/services.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

test('bench:e2e --smoke prints latency figures with nothing lost or duplicated', { timeout: 90_000 }, (t) => {
  serviceUrls(); // fails clearly when the services are not configured
  const dir = mkdtempSync(join(tmpdir(), 'hubcast-bench-smoke-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'e2e.json');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/e2e.ts', '--smoke', '--out', out], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 80_000,
  });
  assert.equal(r.status, 0, `bench exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /p99 ms/);
  assert.match(r.stdout, /lost=0 duplicated=0/);
  const { results } = JSON.parse(readFileSync(out, 'utf8')) as {
    results: Array<{
      events: number;
      deliveries: number;
      subscribers: number;
      lost: number;
      duplicated: number;
      latencyMs: { p99: number };
    }>;
  };
  assert.equal(results.length, 1);
  const [x] = results;
  assert.ok(x.events > 0, 'the generator published');
  assert.equal(x.deliveries, x.events * x.subscribers, 'every event reached every subscriber');
  assert.equal(x.lost, 0);
  assert.equal(x.duplicated, 0);
  assert.ok(Number.isFinite(x.latencyMs.p99) && x.latencyMs.p99 > 0);
});
