import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, postJson, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { TestWs } from '../helpers/ws-client.js';
import { SECRET, sign } from '../auth/tokens.js';
import { ACK_WINDOW } from '../../src/ack/acks.js';

const TIMEOUT_MS = 300;
let gw: RunningGateway;
before(async () => {
  gw = await startGateway({ ackTimeoutMs: TIMEOUT_MS, jwtSecret: SECRET });
});
after(() => gw.close());

const send = (channel: string, data: unknown) => postJson(`${gw.url}/realtime/send`, { channel, event: 'tick', data });
const open = async (user = `u${Math.random().toString(36).slice(2)}`) =>
  TestWs.open(`${gw.wsUrl}?token=${await sign(user, { channels: ['ack:*'] })}`);
const ack = (ws: TestWs, id: string) => ws.send({ type: 'command', command: 'ack', data: { id } });

test('an unacknowledged event comes again with the same id and redelivered: true; an ack (cumulative) stops it', async () => {
  const ws = await open();
  const joined = await ws.command('join_channel', { channel: 'ack:a', ack: true });
  assert.equal(joined.ok, true);
  assert.equal(joined.data.ack, true);
  const ids: string[] = [];
  for (let i = 1; i <= 3; i++) ids.push((await send('ack:a', { n: i })).body.id);
  const first = await ws.next((f) => f.type === 'event' && f.id === ids[2]);
  assert.equal(first.redelivered, undefined);
  // Nothing acknowledged: all three again, same ids, in order, flagged.
  const again = await ws.next((f) => f.type === 'event' && f.redelivered === true && f.id === ids[2], 5000);
  const redelivered = ws.frames.filter((f) => f.type === 'event' && f.redelivered === true).map((f) => f.id);
  assert.deepEqual(redelivered.slice(0, 3), ids);
  assert.deepEqual(again.data, { n: 3 });
  // Acknowledging the second covers the first as well.
  const r = await ws.command('ack', { id: ids[1] });
  assert.equal(r.ok, true);
  assert.equal(r.data.pending, 1);
  const mark = ws.frames.length;
  await ws.next((f) => f.type === 'event' && f.redelivered === true && f.id === ids[2], 5000, mark);
  const after = ws.frames
    .slice(mark)
    .filter((f) => f.type === 'event')
    .map((f) => f.id);
  assert.ok(!after.includes(ids[0]) && !after.includes(ids[1]), `acknowledged ids came again: ${after}`);
  ack(ws, ids[2]);
  const r2 = await ws.command('ack', { id: ids[2] });
  assert.equal(r2.data.pending, 0);
  const quiet = ws.frames.length;
  await new Promise((res) => setTimeout(res, TIMEOUT_MS * 3)); // the absence of a redelivery is the assertion
  assert.equal(ws.frames.slice(quiet).filter((f) => f.type === 'event').length, 0);
  ws.ws.close();
});

test('a plain subscription on the same connection is not redelivered and is written the same bytes as before', async () => {
  const ws = await open();
  await ws.command('join_channel', { channel: 'ack:plain' });
  await ws.command('join_channel', { channel: 'ack:acked', ack: true });
  const a = (await send('ack:plain', 1)).body.id;
  const b = (await send('ack:acked', 2)).body.id;
  await ws.next((f) => f.id === b);
  await ws.next((f) => f.redelivered === true && f.id === b, 5000);
  assert.equal(ws.frames.filter((f) => f.id === a).length, 1);
  // The ack goes to the subscription that was sent the id.
  const r = await ws.command('ack', { id: b });
  assert.equal(r.data.channel, 'ack:acked');
  const none = await ws.command('ack', { id: a });
  assert.equal(none.data.pending, 0);
  ws.ws.close();
});

test('invalid acks are refused with a code naming the field; the connection stays', async () => {
  const ws = await open();
  const bad = await ws.command('ack', { id: 'x' });
  assert.equal(bad.type, 'error');
  assert.equal(bad.code, 'invalid_frame');
  assert.match(bad.message, /data\.id/);
  const missing = await ws.command('ack', {});
  assert.equal(missing.code, 'invalid_frame');
  const notSub = await ws.command('ack', { id: '1', channel: 'ack:none' });
  assert.equal(notSub.code, 'not_subscribed');
  const badJoin = await ws.command('join_channel', { channel: 'ack:z', ack: 'yes' });
  assert.equal(badJoin.code, 'invalid_frame');
  assert.match(badJoin.message, /ack/);
  assert.equal((await ws.command('ping')).ok, true);
  ws.ws.close();
});

test('leave_channel ends an ack subscription: nothing more is sent or redelivered', async () => {
  const ws = await open();
  await ws.command('join_channel', { channel: 'ack:leave', ack: true });
  const id = (await send('ack:leave', 1)).body.id;
  await ws.next((f) => f.id === id);
  assert.equal((await ws.command('leave_channel', { channel: 'ack:leave' })).ok, true);
  await send('ack:leave', 2);
  const mark = ws.frames.length;
  await new Promise((res) => setTimeout(res, TIMEOUT_MS * 3));
  assert.equal(ws.frames.slice(mark).filter((f) => f.type === 'event').length, 0);
  ws.ws.close();
});

test('a reconnect with since replays from the acknowledged position: unacked events come again, flagged', async () => {
  const first = await open('ack-user');
  await first.command('join_channel', { channel: 'ack:resume', ack: true });
  const ids: string[] = [];
  for (let i = 1; i <= 4; i++) ids.push((await send('ack:resume', { n: i })).body.id);
  await first.next((f) => f.id === ids[3]);
  await first.command('ack', { id: ids[1] });
  first.ws.terminate();
  await first.waitClosed();
  const fifth = (await send('ack:resume', { n: 5 })).body.id;

  const second = await open('ack-user');
  const joined = await second.command('join_channel', { channel: 'ack:resume', ack: true, since: ids[3] });
  assert.equal(joined.data.recovered, true);
  await second.next((f) => f.id === fifth);
  const events = second.events('ack:resume');
  assert.deepEqual(
    events.map((f) => [f.id, f.redelivered === true]),
    [
      [ids[2], true],
      [ids[3], true],
      [fifth, false],
    ],
  );
  second.ws.close();
});

test('a client that never acks is a slow consumer once its window is full', async () => {
  const ws = await open();
  await ws.command('join_channel', { channel: 'ack:slow', ack: true });
  for (let i = 0; i <= ACK_WINDOW; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => send('ack:slow', i + j)));
  }
  const code = await ws.waitClosed(10_000);
  assert.equal(code, 1013);
  await waitFor(() => Number(gw.gateway.stats().ack_window_overflows) >= 1, 2000, 'overflow counted');
});

test('ack subscriptions are counted and forgotten on close', async () => {
  const ws = await open();
  await ws.command('join_channel', { channel: 'ack:count', ack: true });
  const before = Number(gw.gateway.stats().ack_subscriptions);
  assert.ok(before >= 1);
  ws.ws.close();
  await waitFor(() => Number(gw.gateway.stats().ack_subscriptions) === before - 1, 2000, 'subscription forgotten');
  assert.equal(gw.gateway.hub.subscriberCount('ack:count'), 0);
});

test('a refreshed token that no longer grants the channel ends its ack subscription', async () => {
  const ws = await TestWs.open(`${gw.wsUrl}?token=${await sign('refresher', { channels: ['ack:*'] })}`);
  await ws.command('join_channel', { channel: 'ack:revoked', ack: true });
  const r = await ws.command('refresh_token', { token: await sign('refresher', { channels: ['ack:other'] }) });
  assert.deepEqual(r.data.left, ['ack:revoked']);
  const id = (await send('ack:revoked', 1)).body.id;
  await ws.command('ping');
  assert.equal(ws.frames.filter((f) => f.id === id).length, 0);
  assert.equal(gw.gateway.hub.subscriberCount('ack:revoked'), 0);
  ws.ws.close();
});
