import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RetentionPolicy } from '../../src/hub/retention.js';
import { loadConfig, ConfigError } from '../../src/config/config.js';

test('retention rules match by pattern, first match wins, others keep the default', () => {
  const p = RetentionPolicy.parse('chat:*=500/1h, products=1000/10m, *:audit=5/90s', { count: 100, maxAgeMs: 0 });
  assert.deepEqual(p.for('chat:lobby'), { pattern: 'chat:*', count: 500, maxAgeMs: 3_600_000 });
  assert.deepEqual(p.for('products'), { pattern: 'products', count: 1000, maxAgeMs: 600_000 });
  assert.equal(p.for('x:audit').maxAgeMs, 90_000);
  assert.deepEqual(p.for('room:1'), { count: 100, maxAgeMs: 0 });
});

test('a malformed HISTORY_RETENTION fails config naming the variable', () => {
  for (const bad of ['chat:*', 'chat:*=x', 'chat:*=10/5y', 'bad name=1']) {
    assert.throws(() => loadConfig({ HISTORY_RETENTION: bad }), (e: unknown) => e instanceof ConfigError && e.variable === 'HISTORY_RETENTION', bad);
  }
  assert.equal(loadConfig({ HISTORY_RETENTION: 'chat:*=10/5m' }).historyRetention, 'chat:*=10/5m');
});
