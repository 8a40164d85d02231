import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway } from '../helpers/gateway.js';
import { raw } from './raw-http.js';

// /metrics and /realtime/stats were always open and name the host (node_id). METRICS_PUBLIC=false
// puts them under the server API's rules; on the old code both answered 200 without the key.

test('METRICS_PUBLIC=false: /metrics and /realtime/stats need the API key', async () => {
  const KEY = 'metrics-key-0123456789';
  const gw = await startGateway({ apiKey: KEY, metricsPublic: false });
  try {
    for (const path of ['/metrics', '/realtime/stats']) {
      const none = await raw(gw.url, 'GET', path);
      assert.equal(none.status, 401, path);
      assert.equal(none.body.error.code, 'unauthorized', path);
      const ok = await raw(gw.url, 'GET', path, { authorization: `Bearer ${KEY}` });
      assert.equal(ok.status, 200, path);
    }
    // liveness stays open for load balancers
    assert.equal((await raw(gw.url, 'GET', '/healthz')).status, 200);
  } finally {
    await gw.close();
  }
});

test('METRICS_PUBLIC=false without a key: local callers only, like the rest of the server API', async () => {
  const gw = await startGateway({ metricsPublic: false });
  try {
    assert.equal((await raw(gw.url, 'GET', '/metrics')).status, 200);
    const relayed = await raw(gw.url, 'GET', '/realtime/stats', { 'x-forwarded-for': '203.0.113.9' });
    assert.equal(relayed.status, 403);
    assert.equal((await raw(gw.url, 'GET', '/metrics', { host: 'metrics.example' })).status, 403);
  } finally {
    await gw.close();
  }
});

test('by default (METRICS_PUBLIC=true) both stay public, as the HTTP API promises', async () => {
  const gw = await startGateway({ apiKey: 'k' });
  try {
    assert.equal((await raw(gw.url, 'GET', '/metrics', { host: 'metrics.example' })).status, 200);
    assert.equal((await raw(gw.url, 'GET', '/realtime/stats')).status, 200);
  } finally {
    await gw.close();
  }
});
