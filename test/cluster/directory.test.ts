/**
 * The cluster directory (live nodes: heartbeat with expiry, in Redis) and questions put to every
 * live node over the bus, answers gathered with a deadline; alone, the same calls answer locally.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/logger.js';
import { RedisBus } from '../../src/bus/redis.js';
import { RetentionPolicy } from '../../src/hub/retention.js';
import { ASK_TIMEOUT_MS, ClusterNodes, NO_OTHER_NODES } from '../../src/cluster/cluster.js';
import { LocalDirectory } from '../../src/cluster/directory.js';
import { RedisNodeDirectory } from '../../src/cluster/directory-redis.js';
import { redisPrefix, serviceUrls } from '../helpers/services.js';
import { waitFor } from '../helpers/gateway.js';

const log = createLogger('silent');
const retention = RetentionPolicy.parse('', { count: 10, maxAgeMs: 0 });

test('live nodes: each sees the others; one that stops beating drops out after its TTL; one that leaves drops out at once', async () => {
  const prefix = redisPrefix();
  const { redisUrl } = serviceUrls();
  const ttlMs = 600;
  const one = new RedisNodeDirectory(redisUrl, log, { nodeId: 'n1', prefix, ttlMs });
  const two = new RedisNodeDirectory(redisUrl, log, { nodeId: 'n2', prefix, ttlMs });
  const raw = new Redis(redisUrl);
  after(async () => {
    await one.close();
    await two.close();
    raw.disconnect();
  });
  assert.deepEqual(one.live(), ['n1'], 'itself before it ever beat');
  await one.start();
  await two.start();
  assert.deepEqual(two.live().sort(), ['n1', 'n2']);
  await waitFor(() => one.live().includes('n2'), 3000, 'n1 learns of n2 on its next beat');

  // A node that crashed: an entry nobody renews (written as a beat would, expiring in ttlMs).
  const [secs, micros] = await raw.time();
  await raw.zadd(`${prefix}nodes`, Number(secs) * 1000 + Math.floor(Number(micros) / 1000) + ttlMs, 'crashed');
  await waitFor(() => one.live().includes('crashed'), 3000, 'the crashed node seen while its entry lives');
  await waitFor(
    () => !one.live().includes('crashed') && !two.live().includes('crashed'),
    ttlMs * 4,
    'its entry expired',
  );
  assert.deepEqual(one.live().sort(), ['n1', 'n2'], 'beating nodes stay');

  await two.close();
  assert.deepEqual(await raw.zrange(`${prefix}nodes`, '0', '-1'), ['n1'], 'a node that closes leaves at once');
});

test('a question reaches every live node; the answers come back; a live node that does not answer is reported missing after the deadline', async () => {
  const prefix = redisPrefix();
  const { redisUrl } = serviceUrls();
  const ids = ['q1', 'q2', 'q3'];
  const buses = ids.map((nodeId) => new RedisBus(redisUrl, log, { nodeId, prefix, retention }));
  const dirs = ids.map((nodeId) => new RedisNodeDirectory(redisUrl, log, { nodeId, prefix, ttlMs: 5000 }));
  const nodes = ids.map((_, i) => new ClusterNodes(dirs[i], buses[i], log));
  after(async () => {
    for (const n of nodes) await n.close();
    await Promise.all(buses.map((b) => b.close()));
  });
  await Promise.all(buses.map((b) => b.start()));
  for (const n of nodes) await n.start();
  await waitFor(() => nodes.every((n) => n.nodes().length === 3), 5000, 'every node sees three');
  for (const [i, n] of nodes.entries()) n.answer('double', (p) => ({ node: ids[i], twice: (p as number) * 2 }));
  // q3 answers an async question with an error, and never answers `slow`.
  nodes[0].answer('sum', async (p) => (p as number) + 1);
  nodes[1].answer('sum', async (p) => (p as number) + 2);
  nodes[2].answer('sum', async () => {
    throw new Error('no sums here');
  });

  const started = Date.now();
  const asked = await nodes[1].ask<{ node: string; twice: number }>('double', 21);
  assert.ok(Date.now() - started < ASK_TIMEOUT_MS * 0.9, 'every node answered: no wait for the deadline');
  assert.deepEqual([...asked.replies.keys()].sort(), ids);
  assert.deepEqual(
    [...asked.replies.values()].map((v) => v.twice),
    [42, 42, 42],
  );
  assert.deepEqual(asked.missing, []);

  const sums = await nodes[0].ask<number>('sum', 10);
  assert.deepEqual(Object.fromEntries(sums.replies), { q1: 11, q2: 12 });
  assert.deepEqual(Object.fromEntries(sums.errors), { q3: 'no sums here' });

  nodes[0].answer('slow', () => 'here');
  nodes[1].answer('slow', () => new Promise((r) => setTimeout(() => r('too late'), 400).unref()));
  const slow = await nodes[0].ask<string>('slow', null, 150);
  assert.deepEqual(Object.fromEntries(slow.replies), { q1: 'here' });
  assert.deepEqual(slow.missing, ['q2'], 'q2 answers after the deadline');
  assert.match(
    slow.errors.get('q3') ?? '',
    /node q3 does not answer "slow"/,
    'a node that does not know the question says so at once',
  );
  assert.deepEqual(slow.nodes.sort(), ids);
});

test('alone, the cluster is this node: a question is answered locally', async () => {
  const alone = new ClusterNodes(new LocalDirectory('solo'), NO_OTHER_NODES, log);
  alone.answer('who', () => 'solo here');
  await alone.start();
  const r = await alone.ask<string>('who', null);
  assert.deepEqual(r.nodes, ['solo']);
  assert.deepEqual(Object.fromEntries(r.replies), { solo: 'solo here' });
  await assert.rejects(alone.ask('unknown', null), /no answerer registered/);
  await alone.close();
});

test("node messages keep their topics apart; signals keep the previous version's format both ways", async () => {
  const prefix = redisPrefix();
  const { redisUrl } = serviceUrls();
  const buses = ['t1', 't2'].map((nodeId) => new RedisBus(redisUrl, log, { nodeId, prefix, retention }));
  const raw = new Redis(redisUrl);
  const sniffer = new Redis(redisUrl);
  after(async () => {
    await Promise.all(buses.map((b) => b.close()));
    raw.disconnect();
    sniffer.disconnect();
  });
  await Promise.all(buses.map((b) => b.start()));
  const wire: string[] = [];
  await sniffer.subscribe(`${prefix}bus:node`);
  sniffer.on('message', (_c: string, m: string) => wire.push(m));
  const got: string[] = [];
  buses[1].onNodeMessage((from, body) => got.push(`signal ${from} ${body}`));
  buses[1].onNodeMessage((from, body) => got.push(`ask ${from} ${body}`), 'ask');
  await buses[0].sendToNode('t2', '{"to":"p"}');
  await buses[0].sendToNode('*', '{"q":1}', 'ask');
  // From a node of the previous version: no topic line.
  await raw.publish(`${prefix}bus:node`, 'old-node\nt2\n{"to":"q"}');
  await waitFor(() => got.length === 3, 3000, 'three messages');
  assert.deepEqual(got, ['signal t1 {"to":"p"}', 'ask t1 {"q":1}', 'signal old-node {"to":"q"}']);
  assert.deepEqual(
    wire.slice(0, 2),
    ['t1\nt2\n{"to":"p"}', 't1\n*\n@ask\n{"q":1}'],
    'a signal on the wire as the previous version wrote it',
  );
});
