/**
 * Smoke run of bench:connections: 500 idle WS and 500 idle SSE subscribers,
 * to keep the benchmark working. The figure itself is not asserted against
 * the goal (500 connections are too few to amortize the baseline); that every
 * subscriber connected and a per-connection figure came out is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface ConnectionsResult {
  server: string;
  transport: string;
  connections: number;
  baseKiB: number;
  rssKiB: number;
  perConnKiB: number;
}

test('bench:connections --smoke measures RSS per idle WS and SSE connection', { timeout: 60_000 }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hubcast-bench-smoke-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'connections.json');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/connections.ts', '--smoke', '--out', out], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 50_000,
  });
  assert.equal(r.status, 0, `bench exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /KiB\/conn/);
  const { results, failures } = JSON.parse(readFileSync(out, 'utf8')) as {
    results: ConnectionsResult[];
    failures: string[];
  };
  assert.deepEqual(failures, []);
  assert.deepEqual(
    results.map((x) => `${x.server} ${x.transport} ${x.connections}`),
    ['hubcast ws 500', 'hubcast sse 500'],
  );
  for (const x of results) {
    assert.ok(x.rssKiB > x.baseKiB, `${x.transport}: RSS grew with the connections`);
    assert.ok(
      x.perConnKiB > 0 && x.perConnKiB < 100,
      `${x.transport}: a plausible per-connection figure, got ${x.perConnKiB}`,
    );
  }
});
