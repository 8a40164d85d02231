/**
 * Every numeric /realtime/stats field of a full gateway (catalog with its
 * generator, and chat) is exported on /metrics, under the name the core or the
 * application registered for it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogApp } from '../../src/apps/catalog/app.js';
import { chatApp } from '../../src/apps/chat/app.js';
import { STATS_NOT_METRICS } from '../../src/metrics.js';
import { startGateway } from '../helpers/gateway.js';

test('every numeric stats field is a metric, with the stats value', async () => {
  const gw = await startGateway({ generatorIntervalMs: 100 }, [catalogApp({ withGenerator: true }), chatApp()]);
  try {
    const STAT_METRICS = gw.gateway.applications.metrics;
    const stats = (await (await fetch(`${gw.url}/realtime/stats`)).json()) as Record<string, unknown>;
    const numeric = Object.keys(stats).filter((k) => typeof stats[k] === 'number' && !STATS_NOT_METRICS.has(k));
    const missing = numeric.filter((k) => STAT_METRICS[k] === undefined);
    assert.deepEqual(missing, [], 'stats fields without a metric');
    for (const required of [
      'events_publish_failed',
      'events_retried',
      'events_in_flight',
      'photo_cache_hits',
      'photo_cache_misses',
      'token_refreshes',
      'chat_posts',
    ]) {
      assert.ok(numeric.includes(required), `stats has ${required}`);
    }
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    for (const k of numeric)
      assert.match(text, new RegExp(`^${STAT_METRICS[k].name} \\d`, 'm'), `${STAT_METRICS[k].name} on /metrics`);
    assert.match(text, /^hubcast_token_refreshes_total 0$/m);
  } finally {
    await gw.close();
  }
});
