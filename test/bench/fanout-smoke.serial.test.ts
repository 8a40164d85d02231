/**
 * Smoke runs of bench:fanout (WS and SSE): a few seconds each with a few
 * hundred subscribers, to keep the benchmark working. The figures themselves
 * are not asserted (the machine may be busy); completeness is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface FanoutResult {
  phase: string;
  subscribers: number;
  events: number;
  deliveries: number;
  expected: number;
  deliveriesPerSec: number;
  latencyMs: { p50: number; p99: number };
  lost: number;
  duplicated: number;
  serverCpuMicrosPerDelivery: number;
}

for (const transport of ['ws', 'sse'] as const) {
  test(`bench:fanout --smoke over ${transport} prints its figures with nothing lost or duplicated`, {
    timeout: 60_000,
  }, (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'hubcast-bench-smoke-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, 'fanout.json');
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'bench/fanout.ts', '--smoke', '--transport', transport, '--out', out],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 50_000,
      },
    );
    assert.equal(r.status, 0, `bench exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /deliveries\/s/);
    assert.match(r.stdout, /lost=0 duplicated=0/);
    const { results } = JSON.parse(readFileSync(out, 'utf8')) as { results: FanoutResult[] };
    assert.deepEqual(
      results.map((x) => x.phase),
      ['saturate', 'rate'],
    );
    for (const x of results) {
      assert.equal(x.lost, 0);
      assert.equal(x.duplicated, 0);
      assert.equal(x.deliveries, x.expected, `${x.phase}: every event to every subscriber`);
      assert.ok(x.deliveriesPerSec > 0 && Number.isFinite(x.latencyMs.p99), `${x.phase}: figures present`);
      assert.ok(x.serverCpuMicrosPerDelivery > 0, `${x.phase}: server CPU measured`);
    }
  });
}
