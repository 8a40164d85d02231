/**
 * The user inbox end to end: a send to a user with no connection is kept and delivered on
 * `user:<id>` when the user connects, oldest first, acknowledged like an `ack: true`
 * subscription; acknowledged, it never comes again. Alone (memory driver) and on two
 * gateways sharing Redis (send while offline, connect to the other node).
 */
import { test, after } from 'node:test';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { startGateway, postJson, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { TestWs } from '../helpers/ws-client.js';
import { SECRET, sign } from '../auth/tokens.js';
import { redisPrefix, serviceUrls } from '../helpers/services.js';

const running: RunningGateway[] = [];
after(() => Promise.all(running.map((g) => g.close())));

async function gateway(overrides: Record<string, unknown> = {}): Promise<RunningGateway> {
  const g = await startGateway({ jwtSecret: SECRET, ackTimeoutMs: 300, ...overrides });
  running.push(g);
  return g;
}

const sendTo = (g: RunningGateway, user: string, data: unknown) =>
  postJson(`${g.url}/realtime/send`, { user_id: user, event: 'note', data });
const connect = async (g: RunningGateway, user: string) => {
  const ws = await TestWs.open(`${g.wsUrl}?token=${await sign(user)}`);
  await ws.next((f) => f.type === 'connected');
  return ws;
};
const inboxEvents = (ws: TestWs, user: string) => ws.events(`user:${user}`);

test('alone: sends while offline are delivered in order on connect; acknowledged ones never come again', async () => {
  const g = await gateway({ inboxMax: 3 });
  const user = `in-${Date.now()}`;
  const ids: string[] = [];
  for (let i = 1; i <= 4; i++) ids.push((await sendTo(g, user, { n: i })).body.id);
  const ws = await connect(g, user);
  await waitFor(() => inboxEvents(ws, user).length >= 3, 3000, 'inbox delivered');
  // INBOX_MAX 3: the oldest went.
  assert.deepEqual(
    inboxEvents(ws, user)
      .slice(0, 3)
      .map((f) => f.id),
    ids.slice(1),
  );
  assert.deepEqual(inboxEvents(ws, user)[0].data, { n: 2 });
  // Unacknowledged: sent again, flagged.
  await ws.next((f) => f.redelivered === true && f.id === ids[3], 5000);
  const r = await ws.command('ack', { id: ids[2] });
  assert.equal(r.data.channel, `user:${user}`);
  assert.equal(r.data.pending, 1);
  ws.ws.terminate();
  await ws.waitClosed();

  const again = await connect(g, user);
  const left = await again.next((f) => f.type === 'event' && f.channel === `user:${user}`);
  assert.equal(left.id, ids[3], 'only the unacknowledged one is delivered again');
  await again.command('ack', { id: ids[3] });
  // Online now: a send is delivered live and not kept.
  const live = (await sendTo(g, user, 'live')).body.id;
  await again.next((f) => f.id === live);
  again.ws.close();
  await again.waitClosed();
  const third = await connect(g, user);
  const ping = await third.command('ping');
  assert.equal(ping.ok, true);
  await new Promise((res) => setTimeout(res, 100)); // an inbox read is a few ms: nothing must have come
  assert.deepEqual(inboxEvents(third, user), []);
  assert.ok(Number(g.gateway.stats().inbox_acked) >= 2);
  third.ws.close();
});

test('two nodes on Redis: sent via node 1 while offline, delivered on node 2, acked there, not sent again on node 1', async () => {
  const prefix = redisPrefix();
  const { redisUrl } = serviceUrls();
  const n1 = await gateway({ redisUrl, redisPrefix: prefix, nodeId: 'inbox-1' });
  const n2 = await gateway({ redisUrl, redisPrefix: prefix, nodeId: 'inbox-2' });
  const user = `cl-${Date.now()}`;
  const ids: string[] = [];
  for (let i = 1; i <= 5; i++) ids.push((await sendTo(n1, user, { n: i })).body.id);

  const ws = await connect(n2, user);
  await waitFor(() => inboxEvents(ws, user).length >= 5, 5000, 'inbox delivered on node 2');
  assert.deepEqual(
    inboxEvents(ws, user)
      .slice(0, 5)
      .map((f) => f.id),
    ids,
    'oldest first',
  );
  // The user is online on node 2: a send through node 1 is delivered live, not kept.
  const live = (await sendTo(n1, user, 'live')).body.id;
  await ws.next((f) => f.id === live, 5000);
  const r = await ws.command('ack', { id: ids[4] });
  assert.equal(r.data.pending, 0);
  await waitFor(async () => Number(n2.gateway.stats().inbox_acked) >= 5, 3000, 'acked in Redis');
  ws.ws.terminate();
  await ws.waitClosed();

  const back = await connect(n1, user);
  await back.command('ping');
  await new Promise((res) => setTimeout(res, 200)); // the inbox read on node 1 is one Redis round trip
  assert.deepEqual(inboxEvents(back, user), [], 'acknowledged inbox events never come again');
  back.ws.close();
});

test('alone: the inbox survives a graceful restart; what was acknowledged does not come back after one', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'hubcast-inbox-'));
  const user = `rs-${Date.now()}`;
  const first = await startGateway({ jwtSecret: SECRET, ackTimeoutMs: 300, dataDir });
  const ids: string[] = [];
  for (let i = 1; i <= 3; i++) ids.push((await sendTo(first, user, { n: i })).body.id);
  await first.close();

  const second = await startGateway({ jwtSecret: SECRET, ackTimeoutMs: 300, dataDir });
  const ws = await connect(second, user);
  await waitFor(() => inboxEvents(ws, user).length >= 3, 3000, 'inbox delivered after the restart');
  assert.deepEqual(
    inboxEvents(ws, user)
      .slice(0, 3)
      .map((f) => f.id),
    ids,
  );
  await ws.command('ack', { id: ids[1] });
  ws.ws.close();
  await ws.waitClosed();
  await second.close();

  const third = await gateway({ dataDir });
  const again = await connect(third, user);
  const left = await again.next((f) => f.type === 'event' && f.channel === `user:${user}`);
  assert.equal(left.id, ids[2]);
  await again.command('ping');
  assert.deepEqual(
    inboxEvents(again, user)
      .map((f) => f.id)
      .filter((id) => id !== ids[2]),
    [],
    'acknowledged ones stay gone',
  );
  again.ws.close();
});
