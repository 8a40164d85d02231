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
    assert.throws(
      () => loadConfig({ HISTORY_RETENTION: bad }),
      (e: unknown) => e instanceof ConfigError && e.variable === 'HISTORY_RETENTION',
      bad,
    );
  }
  assert.equal(loadConfig({ HISTORY_RETENTION: 'chat:*=10/5m' }).historyRetention, 'chat:*=10/5m');
});

test('memory history keeps each channel by its pattern: count and age', async () => {
  const { MemoryHistory } = await import('../../src/hub/history.js');
  const { EventIdSequence } = await import('../../src/hub/ids.js');
  const { Publication } = await import('../../src/hub/publication.js');
  const ids = new EventIdSequence(1000);
  const retention = RetentionPolicy.parse('few:*=2,young:*=100/50ms', { count: 10, maxAgeMs: 0 });
  const h = new MemoryHistory({ size: 10, floor: ids.floor, retention });
  const put = (channel: string, publishedAt = Date.now()) => {
    const p = new Publication(ids.next(), channel, 'e', channel, publishedAt);
    h.append(p);
    return p.id;
  };
  const f0 = put('few:a');
  put('few:a');
  put('few:a');
  assert.deepEqual(h.since('few:a', f0 - 1), { ok: false, reason: 'history_gap' }, 'count 2 for few:*');
  const o0 = put('other');
  for (let i = 0; i < 5; i++) put('other');
  assert.ok(h.since('other', o0 - 1).ok, 'default count 10 elsewhere');
  const y0 = put('young:a', Date.now() - 1000);
  put('young:a');
  assert.deepEqual(
    h.since('young:a', y0 - 1),
    { ok: false, reason: 'history_gap' },
    'older than 50 ms is not replayed',
  );
  assert.ok(h.since('young:a', y0).ok);
});
