import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, postJson, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { serviceUrls, redisPrefix } from '../helpers/services.js';
import { TestTcp } from '../helpers/tcp-client.js';
import { TestWs } from '../helpers/ws-client.js';

// Long polling and raw TCP through a two-node cluster on the shared Redis: a poll answered by
// either node from the cluster's history, a TCP client on one node and a WS client on the other.

let n1: RunningGateway;
let n2: RunningGateway;
before(async () => {
  const redisUrl = serviceUrls().redisUrl;
  const prefix = redisPrefix();
  [n1, n2] = await Promise.all(
    [1, 2].map((i) =>
      startGateway({
        redisUrl,
        redisPrefix: prefix,
        nodeId: `tr-${i}`,
        tcpPort: 0,
        historySize: 5000,
        pollMaxEvents: 50,
      }),
    ),
  );
  // The cluster's history begins with its first publication: positions from before it resume nowhere.
  await postJson(`${n1.url}/realtime/send`, { channel: 'cl:warmup', event: 'x', data: 0 });
  await waitFor(
    async () => (await poll(n2.url, 'channels=cl:warmup&timeout=0')).last_id !== '0',
    5000,
    'the first publication on both nodes',
  );
});
after(async () => {
  await Promise.all([n1?.close(), n2?.close()]);
});

async function poll(base: string, query: string): Promise<any> {
  const res = await fetch(`${base}/realtime/poll?${query}`);
  assert.equal(res.status, 200);
  return res.json();
}

test('a poll that alternates nodes, following last_id, sees every event once and in order', async () => {
  const start = await poll(n1.url, 'channels=cl:poll&timeout=0');
  let since = start.last_id;
  const TOTAL = 300;
  const publisher = (async () => {
    for (let i = 0; i < TOTAL; i++)
      await postJson(`${(i % 2 ? n1 : n2).url}/realtime/send`, { channel: 'cl:poll', event: 'n', data: i });
  })();
  const seen: number[] = [];
  const deadline = Date.now() + 15_000;
  for (let turn = 0; seen.length < TOTAL && Date.now() < deadline; turn++) {
    const a = await poll((turn % 2 ? n1 : n2).url, `channels=cl:poll&since=${since}&timeout=5`);
    assert.equal(a.recovery_failed, undefined);
    for (const e of a.events) seen.push(e.data);
    since = a.last_id;
  }
  await publisher;
  assert.deepEqual(
    seen,
    Array.from({ length: TOTAL }, (_, i) => i),
  );
});

test('a poll held on one node is released by a publish on the other', async () => {
  const start = await poll(n2.url, 'channels=cl:held&timeout=0');
  const pending = poll(n2.url, `channels=cl:held&since=${start.last_id}&timeout=20`);
  await waitFor(() => n2.gateway.poll.held === 1, 5000, 'the poll to be held');
  const sent = await postJson(`${n1.url}/realtime/send`, { channel: 'cl:held', event: 'x', data: 'across' });
  const a = await pending;
  assert.deepEqual(
    a.events.map((e: any) => e.id),
    [sent.body.id],
  );
});

test('a TCP client on one node and a WS client on the other see each other', async () => {
  const t = await TestTcp.open(n1.gateway.tcp!.address!.port);
  await t.command('join_channel', { channel: 'room:cl' });
  const w = await TestWs.open(n2.wsUrl);
  await w.command('join_channel', { channel: 'room:cl' });
  t.send({ type: 'channel_message', channel: 'room:cl', message: 'tcp on node 1' });
  await w.next((f) => f.type === 'event' && f.data?.message === 'tcp on node 1');
  w.send({ type: 'channel_message', channel: 'room:cl', message: 'ws on node 2' });
  const got = await t.next((f) => f.type === 'event' && f.data?.message === 'ws on node 2');
  // And a TCP client resuming on the other node from that id misses nothing after it.
  await postJson(`${n1.url}/realtime/send`, { channel: 'room:cl', event: 'message', data: { message: 'later' } });
  const t2 = await TestTcp.open(n2.gateway.tcp!.address!.port);
  const r = await t2.command('join_channel', { channel: 'room:cl', since: got.id });
  assert.equal(r.data.recovered, true);
  assert.deepEqual(
    t2.frames.filter((f) => f.type === 'event').map((f) => f.data.message),
    ['later'],
  );
  t.close();
  t2.close();
  w.close();
});
