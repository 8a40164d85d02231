import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisBus } from '../../src/bus/redis.js';
import { RetentionPolicy } from '../../src/hub/retention.js';
import { createLogger } from '../../src/logger.js';
import { redisPrefix, serviceUrls } from '../helpers/services.js';

// The durable history in Redis: bounded by HISTORY_MAX_BYTES over all channels, and an epoch
// that makes a position Redis no longer holds the history for a refused resume, not a silent one.

const log = createLogger('silent');
const buses: RedisBus[] = [];
const admin = new Redis(serviceUrls().redisUrl);
after(async () => {
  await Promise.all(buses.map((b) => b.close()));
  admin.disconnect();
});

async function bus(prefix: string, maxBytes = 0, nodeId = 'n1'): Promise<{ bus: RedisBus; seen: number[] }> {
  const b = new RedisBus(serviceUrls().redisUrl, log, {
    nodeId,
    prefix,
    retention: RetentionPolicy.parse(undefined, { count: 100_000, maxAgeMs: 0 }),
    maxBytes,
  });
  buses.push(b);
  await b.start();
  const seen: number[] = [];
  b.onPublication((p) => seen.push(p.id));
  return { bus: b, seen };
}

const until = async (cond: () => boolean, what: string) => {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within 5 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

test('durable history stays under HISTORY_MAX_BYTES over all channels: the oldest go first, and a resume from before them is a gap', async () => {
  const prefix = redisPrefix();
  const maxBytes = 20_000;
  const { bus: b } = await bus(prefix, maxBytes);
  const payload = JSON.stringify('x'.repeat(200));
  const ids: Record<string, number[]> = { a: [], b: [], c: [] };
  for (let i = 0; i < 300; i++) {
    const channel = ['a', 'b', 'c'][i % 3];
    ids[channel].push((await b.publish(channel, 'e', payload, true))!);
  }
  const counted = Number(await admin.get(`${prefix}bytes`));
  const lengths = await Promise.all(['a', 'b', 'c'].map((c) => admin.xlen(`${prefix}h:${c}`)));
  const entryBytes = JSON.stringify({ c: 'a', e: 'e', d: payload, t: 1, at: Date.now(), n: 'n1' }).length + 64;
  console.log(
    `[redis-history] bound ${maxBytes} B, counted ${counted} B, entries kept per channel ${lengths.join('/')} of 100, ~${entryBytes} B each`,
  );
  assert.ok(counted <= maxBytes, `counted ${counted} B over the bound`);
  assert.ok(
    lengths.reduce((n, l) => n + l, 0) * entryBytes <= maxBytes + entryBytes,
    'what the streams hold is within the bound',
  );
  assert.ok(
    lengths.every((l) => l >= 10),
    'every channel keeps its newest',
  );
  assert.deepEqual(await b.since('a', ids.a[0]), { ok: false, reason: 'history_gap' });
  const recent = await b.since('a', ids.a[ids.a.length - 3]);
  assert.ok(recent.ok && recent.entries.map((e) => e.id).join() === ids.a.slice(-2).join());
});

test('a Redis that lost acknowledged writes starts a new epoch: a resume from the lost stretch is refused, not served from the new history', async () => {
  const prefix = redisPrefix();
  const { bus: b, seen } = await bus(prefix);
  const ids: number[] = [];
  for (let i = 0; i < 5; i++) ids.push((await b.publish('room', 'e', String(i), false))!);
  await until(() => seen.length === 5, 'the node received its publications');
  // What an append-only file fsynced every second can lose in a crash: the last writes.
  await admin.set(`${prefix}seq`, String(ids[2]));
  await admin.xdel(`${prefix}h:room`, `${ids[3]}-0`, `${ids[4]}-0`);
  assert.deepEqual(
    await b.since('room', ids[3]),
    { ok: false, reason: 'unknown_position' },
    'a position past the sequence is unknown',
  );
  const next = (await b.publish('room', 'e', '"after"', true))!;
  assert.ok(next > ids[4], 'ids keep rising past what any node saw');
  assert.deepEqual(
    await b.since('room', ids[3]),
    { ok: false, reason: 'unknown_position' },
    'a position from the lost stretch is before the new epoch',
  );
  assert.deepEqual(await b.since('room', ids[1]), { ok: false, reason: 'unknown_position' });
  const fresh = await b.since('room', next - 1);
  assert.ok(fresh.ok && fresh.entries.length === 1, 'the new epoch resumes');
});

test('a Redis that came back empty: every earlier position is unknown, with no publication yet and after one', async () => {
  const prefix = redisPrefix();
  const { bus: b, seen } = await bus(prefix);
  const first = (await b.publish('room', 'e', '1', false))!;
  await until(() => seen.length === 1, 'the node received its publication');
  const keys = await admin.keys(`${prefix}*`);
  await admin.del(...keys);
  assert.deepEqual(await b.since('room', first), { ok: false, reason: 'unknown_position' });
  const { bus: other } = await bus(prefix, 0, 'n2'); // a node that saw nothing publishes first
  const next = (await other.publish('room', 'e', '2', false))!;
  assert.ok(next > first);
  assert.deepEqual(await b.since('room', first), { ok: false, reason: 'unknown_position' });
});
