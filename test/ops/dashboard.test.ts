/**
 * /metrics carries the standard Node.js names (what the usual dashboards
 * query), and every metric the shipped Grafana dashboard and alert examples
 * name is one a running gateway exports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startGateway } from '../helpers/gateway.js';
import { catalogApp } from '../../src/apps/catalog/app.js';
import { chatApp } from '../../src/apps/chat/app.js';

const METRIC_NAME = /\b(?:hubcast|process|nodejs)_[a-z0-9_]+\b/g;

/** Metric names exported on /metrics (the `# TYPE` lines). */
function exported(text: string): Set<string> {
  return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
}

test('default metrics keep their standard names; hubcast metrics are hubcast_*', async () => {
  const gw = await startGateway();
  try {
    const names = exported(await (await fetch(`${gw.url}/metrics`)).text());
    for (const standard of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      assert.ok(names.has(standard), `${standard} on /metrics`);
    }
    const stray = [...names].filter((n) => !/^(hubcast|process|nodejs)_/.test(n) || n.includes('hubcast_process'));
    assert.deepEqual(stray, [], 'metrics outside hubcast_/process_/nodejs_');
  } finally {
    await gw.close();
  }
});

test('every metric the Grafana dashboard and the alert examples query is exported', async () => {
  const dashboard = JSON.parse(
    await readFile(new URL('../../deploy/grafana/hubcast.json', import.meta.url), 'utf8'),
  ) as {
    panels: { type: string; targets?: { expr: string }[] }[];
    templating: { list: { query?: { query: string } }[] };
  };
  const exprs: string[] = [];
  for (const p of dashboard.panels) {
    if (p.type === 'row') continue;
    assert.ok(p.targets && p.targets.length > 0, 'each panel has a query');
    for (const t of p.targets) exprs.push(t.expr);
  }
  for (const v of dashboard.templating.list) if (v.query) exprs.push(v.query.query);
  const alerts = await readFile(new URL('../../deploy/prometheus/alerts.yml', import.meta.url), 'utf8');
  const alertExprs = [...alerts.matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1]);
  assert.ok(alertExprs.length >= 4, 'alert examples present');
  const referenced = new Set([...exprs, ...alertExprs].flatMap((e) => [...e.matchAll(METRIC_NAME)].map((m) => m[0])));
  assert.ok(
    [...referenced].filter((n) => n.startsWith('hubcast_')).length >= 30,
    'the dashboard covers hubcast metrics',
  );

  // The core's metrics are registered whatever runs; the applications' with the application.
  const gw = await startGateway({}, [catalogApp({ withGenerator: false }), chatApp()]);
  try {
    const names = exported(await (await fetch(`${gw.url}/metrics`)).text());
    const missing = [...referenced].filter((n) => !names.has(n));
    assert.deepEqual(missing, [], 'queried metrics the gateway does not export');
  } finally {
    await gw.close();
  }
});
