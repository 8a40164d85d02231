import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, postJson, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { serviceUrls, redisPrefix, startPrivateRedis } from '../helpers/services.js';
import { TestWs } from '../helpers/ws-client.js';
import { TestSse } from '../helpers/sse-client.js';
import { encodeBinaryMessage } from '../../src/wire/binary.js';

const running: RunningGateway[] = [];
after(async () => {
  await Promise.all(running.map((g) => g.close()));
});

async function cluster(n: number, redisUrl: string, prefix: string, historySize = 100): Promise<RunningGateway[]> {
  const nodes = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      startGateway({ redisUrl, redisPrefix: prefix, nodeId: `node-${i + 1}`, historySize }),
    ),
  );
  running.push(...nodes);
  return nodes;
}

test('a client on node 1 receives a send made on node 3, with one id sequence for the cluster', async () => {
  const [n1, n2, n3] = await cluster(3, serviceUrls().redisUrl, redisPrefix());
  const ws = await TestWs.open(n1.wsUrl);
  await ws.command('join_channel', { channel: 'room:c' });
  const sse = new TestSse(`${n2.url}/realtime/events?channels=room:c`, ['system', 'hello']);
  await sse.next((e) => e.type === 'system');
  const sent = await postJson(`${n3.url}/realtime/send`, { channel: 'room:c', event: 'hello', data: { from: 3 } });
  assert.equal(sent.status, 200);
  assert.equal(sent.body.delivered, 0, 'node 3 itself has no subscriber');
  const got = await ws.next((f) => f.type === 'event' && f.event === 'hello');
  assert.deepEqual(got.data, { from: 3 });
  assert.equal(got.id, sent.body.id);
  assert.equal((await sse.next((e) => e.type === 'hello')).lastEventId, sent.body.id);
  // ids from different nodes keep rising in one sequence
  const a = await postJson(`${n1.url}/realtime/send`, { channel: 'room:c', data: 1 });
  const b = await postJson(`${n2.url}/realtime/send`, { channel: 'room:c', data: 2 });
  assert.ok(Number(b.body.id) > Number(a.body.id) && Number(a.body.id) > Number(sent.body.id));
  ws.close();
  sse.close();
});

test('a client that leaves node 1 resumes on node 2 from durable history, in order, without repeats', async () => {
  const [n1, n2] = await cluster(2, serviceUrls().redisUrl, redisPrefix());
  const first = new TestSse(`${n1.url}/realtime/events?channels=room:r`, ['system', 'n']);
  await first.next((e) => e.type === 'system');
  await postJson(`${n1.url}/realtime/send`, { channel: 'room:r', event: 'n', data: 1 });
  const seen = await first.next((e) => e.type === 'n');
  first.close();
  for (let i = 2; i <= 6; i++)
    await postJson(`${(i % 2 ? n1 : n2).url}/realtime/send`, { channel: 'room:r', event: 'n', data: i });
  const second = new TestSse(`${n2.url}/realtime/events?channels=room:r`, ['system', 'n'], seen.lastEventId);
  const replayed = await second.count(5, (e) => e.type === 'n');
  assert.deepEqual(
    replayed.map((e) => Number(e.data)),
    [2, 3, 4, 5, 6],
  );
  await postJson(`${n1.url}/realtime/send`, { channel: 'room:r', event: 'n', data: 7 });
  const all = await second.count(6, (e) => e.type === 'n');
  assert.deepEqual(
    all.map((e) => Number(e.data)),
    [2, 3, 4, 5, 6, 7],
  );
  second.close();

  // WS join with since on another node than the one that published
  const ws = await TestWs.open(n1.wsUrl);
  const reply = await ws.command('join_channel', { channel: 'room:r', since: seen.lastEventId });
  assert.equal(reply.data.recovered, true);
  await waitFor(() => ws.events('room:r').length === 6, 3000, 'six replayed events');
  assert.deepEqual(
    ws.events('room:r').map((f) => f.data),
    [2, 3, 4, 5, 6, 7],
  );
  ws.close();
});

test('durable history reports gaps honestly', async () => {
  const [n1, n2] = await cluster(2, serviceUrls().redisUrl, redisPrefix(), 3);
  const old = await postJson(`${n1.url}/realtime/send`, { channel: 'room:g', data: 0 });
  for (let i = 1; i <= 5; i++) await postJson(`${n1.url}/realtime/send`, { channel: 'room:g', data: i });
  const ws = await TestWs.open(n2.wsUrl);
  const reply = await ws.command('join_channel', { channel: 'room:g', since: old.body.id });
  assert.equal(reply.data.recovered, false);
  assert.ok(ws.frames.some((f) => f.event === 'system' && f.data.type === 'recovery_failed'));
  ws.close();
});

test("a binary message sent on one node reaches the channel's WS subscribers on every node, once each", async () => {
  const [n1, n2] = await cluster(2, serviceUrls().redisUrl, redisPrefix());
  const far = await TestWs.open(n1.wsUrl);
  const near = await TestWs.open(n2.wsUrl);
  const sender = await TestWs.open(n2.wsUrl);
  await far.command('join_channel', { channel: 'files:x' });
  await near.command('join_channel', { channel: 'files:x' });
  const message = encodeBinaryMessage(
    { content_type: 'application/octet-stream', filename: 'a.bin', channel: 'files:x' },
    Buffer.from([0, 10, 255, 10, 7]),
  );
  sender.ws.send(message);
  await waitFor(() => far.binaries.length >= 1 && near.binaries.length >= 1, 5000, 'the binary message on both nodes');
  assert.deepEqual(far.binaries[0], message, 'same layout, same bytes, across the bus');
  assert.deepEqual(near.binaries[0], message);
  // A text event sent after it, through node 1, arriving on both: by then a second copy of the
  // binary message (node 2 hearing its own back from the bus) would have come too.
  await postJson(`${n1.url}/realtime/send`, { channel: 'files:x', data: 'after' });
  await far.next((f) => f.type === 'event' && f.data === 'after');
  await near.next((f) => f.type === 'event' && f.data === 'after');
  assert.equal(far.binaries.length, 1);
  assert.equal(near.binaries.length, 1);
  assert.equal(sender.binaries.length, 0, 'the sender did not join: nothing comes back to it');
  for (const c of [far, near, sender]) c.close();
});

test("with the bus down, a binary message still reaches this node's subscribers and the sender is told the rest missed it", async () => {
  const redis = await startPrivateRedis();
  try {
    const [n1] = await cluster(1, redis.url, redisPrefix());
    const local = await TestWs.open(n1.wsUrl);
    const sender = await TestWs.open(n1.wsUrl);
    await local.command('join_channel', { channel: 'files:y' });
    await redis.kill();
    const message = encodeBinaryMessage(
      { content_type: 'text/plain', filename: 'y.txt', channel: 'files:y' },
      Buffer.from('still here'),
    );
    sender.ws.send(message);
    const refused = await sender.next((f) => f.type === 'error');
    assert.equal(refused.code, 'internal_error');
    assert.match(refused.message, /this node's subscribers only/);
    await waitFor(() => local.binaries.length === 1, 5000, 'the local delivery');
    assert.deepEqual(local.binaries[0], message);
    local.close();
    sender.close();
  } finally {
    await Promise.all(running.splice(0).map((g) => g.close()));
    await redis.stop();
  }
});

test('after the bus reconnects, a node catches up on what it missed while away', async () => {
  const redis = await startPrivateRedis();
  try {
    const [n1, n2] = await cluster(2, redis.url, redisPrefix());
    const ws = await TestWs.open(n1.wsUrl);
    await ws.command('join_channel', { channel: 'room:k' });
    await postJson(`${n2.url}/realtime/send`, { channel: 'room:k', data: 'before' });
    await ws.next((f) => f.type === 'event' && f.data === 'before');
    // Cut node 1's subscription only (CLIENT KILL on its bus connection) while node 2 keeps publishing.
    const { Redis } = await import('ioredis');
    const admin = new Redis(redis.url);
    const clients = (await admin.client('LIST')) as string;
    const subs = clients.split('\n').filter((l) => l.includes('cmd=subscribe') || l.includes('sub=1'));
    assert.ok(subs.length >= 2);
    for (const line of subs) {
      const id = /id=(\d+)/.exec(line)![1];
      await admin.client('KILL', 'ID', id);
    }
    for (let i = 1; i <= 5; i++) await postJson(`${n2.url}/realtime/send`, { channel: 'room:k', data: i });
    await waitFor(() => ws.events('room:k').length >= 6, 10_000, 'catch-up after the bus reconnected');
    assert.deepEqual(
      ws.events('room:k').map((f) => f.data),
      ['before', 1, 2, 3, 4, 5],
    );
    await admin.quit();
    ws.close();
  } finally {
    await Promise.all(running.splice(0).map((g) => g.close()));
    await redis.stop();
  }
});

test('durable history drops events past their channel pattern age and says so on resume', async () => {
  const redisUrl = serviceUrls().redisUrl;
  const prefix = redisPrefix();
  const [n1] = await Promise.all([
    startGateway({ redisUrl, redisPrefix: prefix, nodeId: 'ret-1', historyRetention: 'short:*=100/1s' }),
  ]);
  running.push(n1);
  const old = await postJson(`${n1.url}/realtime/send`, { channel: 'short:a', data: 'old' });
  await postJson(`${n1.url}/realtime/send`, { channel: 'long:a', data: 'old' });
  await new Promise((r) => setTimeout(r, 1200)); // the retention window itself is what is under test
  await postJson(`${n1.url}/realtime/send`, { channel: 'short:a', data: 'new' });
  await postJson(`${n1.url}/realtime/send`, { channel: 'long:a', data: 'new' });
  const [n2] = await cluster(1, redisUrl, prefix);
  const ws = await TestWs.open(n2.wsUrl);
  const short = await ws.command('join_channel', { channel: 'short:a', since: old.body.id });
  assert.equal(short.data.recovered, false, 'the aged-out event is reported missing');
  const long = await ws.command('join_channel', { channel: 'long:a', since: old.body.id });
  assert.equal(long.data.recovered, true);
  ws.close();
});

test('a node that has seen no publication yet hands out a position any node can resume from', async () => {
  const redisUrl = serviceUrls().redisUrl;
  const prefix = redisPrefix();
  const [n1] = await cluster(1, redisUrl, prefix);
  await postJson(`${n1.url}/realtime/send`, { channel: 'pos:a', data: 'before' });
  const [fresh] = await cluster(1, redisUrl, prefix);
  const ws = await TestWs.open(fresh.wsUrl);
  const joined = await ws.command('join_channel', { channel: 'pos:b' });
  assert.ok(Number(joined.data.last_id) > 0);
  ws.close();
  await postJson(`${n1.url}/realtime/send`, { channel: 'pos:b', data: 'missed' });
  const other = await TestWs.open(n1.wsUrl);
  const resumed = await other.command('join_channel', { channel: 'pos:b', since: joined.data.last_id });
  assert.equal(resumed.data.recovered, true);
  await other.next((f) => f.type === 'event' && f.data === 'missed');
  other.close();
});
