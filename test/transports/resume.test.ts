import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, postJson, type RunningGateway } from '../helpers/gateway.js';
import { TestWs } from '../helpers/ws-client.js';
import { TestSse, rawSse } from '../helpers/sse-client.js';

let gw: RunningGateway;
before(async () => {
  gw = await startGateway({ historySize: 20 });
});
after(() => gw.close());

const send = (channel: string, data: unknown, event = 'tick') =>
  postJson(`${gw.url}/realtime/send`, { channel, event, data });

test('SSE reconnect with Last-Event-ID gets exactly the missed events in order, then live ones', async () => {
  const first = new TestSse(`${gw.url}/realtime/events?channels=resume:a`, ['system', 'tick']);
  await first.next((e) => e.type === 'system');
  for (let i = 1; i <= 3; i++) await send('resume:a', { n: i });
  const seen = await first.count(3, (e) => e.type === 'tick');
  const lastId = seen[2].lastEventId;
  first.close();

  for (let i = 4; i <= 8; i++) await send('resume:a', { n: i });
  await send('resume:other', { n: 99 }); // another channel: never replayed here

  const second = new TestSse(`${gw.url}/realtime/events?channels=resume:a`, ['system', 'tick'], lastId);
  const replayed = await second.count(5, (e) => e.type === 'tick');
  assert.deepEqual(
    replayed.map((e) => JSON.parse(e.data).n),
    [4, 5, 6, 7, 8],
  );
  await send('resume:a', { n: 9 });
  const all = await second.count(6, (e) => e.type === 'tick');
  assert.deepEqual(
    all.map((e) => JSON.parse(e.data).n),
    [4, 5, 6, 7, 8, 9],
  );
  const ids = all.map((e) => Number(e.lastEventId));
  assert.deepEqual(
    [...ids].sort((a, b) => a - b),
    ids,
    'ids rise',
  );
  assert.equal(
    second.events.filter((e) => e.type === 'system' && JSON.parse(e.data).type === 'recovery_failed').length,
    0,
  );
  second.close();
});

test('the last_event_id query parameter resumes like the header', async () => {
  const a = await send('resume:q', 'one');
  await send('resume:q', 'two');
  await send('resume:q', 'three');
  const stream = await rawSse(`${gw.url}/realtime/events?channels=resume:q&last_event_id=${a.body.id}`);
  assert.equal(stream.res.status, 200);
  const start = Date.now();
  while (!stream.text().includes('data: three') && Date.now() - start < 3000)
    await new Promise((r) => setTimeout(r, 10));
  const text = stream.text();
  assert.ok(text.indexOf('data: two') < text.indexOf('data: three'));
  assert.ok(!text.includes('data: one'));
  stream.close();
});

test('an id older than the history gets recovery_failed before live events', async () => {
  const old = await send('resume:b', { n: 0 });
  for (let i = 1; i <= 30; i++) await send('resume:b', { n: i }); // history keeps 20
  const sse = new TestSse(`${gw.url}/realtime/events?channels=resume:b`, ['system', 'tick'], old.body.id);
  const failed = await sse.next((e) => e.type === 'system' && JSON.parse(e.data).type === 'recovery_failed');
  assert.deepEqual(JSON.parse(failed.data).channels, ['resume:b']);
  await send('resume:b', { n: 31 });
  const live = await sse.next((e) => e.type === 'tick');
  assert.equal(JSON.parse(live.data).n, 31);
  const order = sse.events.map((e) => (e.type === 'system' ? JSON.parse(e.data).type : 'tick'));
  assert.deepEqual(order, ['connected', 'recovery_failed', 'tick']);
  sse.close();
});

test('an id from before this process started gets recovery_failed', async () => {
  const sse = new TestSse(`${gw.url}/realtime/events?channels=resume:c`, ['system'], '1000');
  await sse.next((e) => e.type === 'system' && JSON.parse(e.data).type === 'recovery_failed');
  sse.close();
});

test('multi-line string data round-trips through eventsource unchanged', async () => {
  const sse = new TestSse(`${gw.url}/realtime/events?channels=resume:ml`, ['system', 'text']);
  await sse.next((e) => e.type === 'system');
  const text = 'first line\nsecond line\n\nfourth after a blank\n  indented';
  await send('resume:ml', text, 'text');
  const got = await sse.next((e) => e.type === 'text');
  assert.equal(got.data, text);
  sse.close();
});

test('SSE framing: headers, retry hint, system welcome first, ids on channel events', async () => {
  const stream = await rawSse(`${gw.url}/realtime/events?channels=resume:f`);
  assert.equal(stream.res.status, 200);
  assert.match(stream.res.headers.get('content-type') ?? '', /^text\/event-stream/);
  assert.equal(stream.res.headers.get('cache-control'), 'no-cache');
  assert.equal(stream.res.headers.get('x-accel-buffering'), 'no');
  await send('resume:f', { a: 1 }, 'thing');
  const start = Date.now();
  while (!stream.text().includes('event: thing') && Date.now() - start < 3000)
    await new Promise((r) => setTimeout(r, 10));
  const text = stream.text();
  assert.match(text, /^retry: \d+\n\n/);
  assert.match(text, /event: system\ndata: \{"type":"connected","client_id":"[^"]+"/);
  assert.match(text, /id: \d+\nevent: thing\ndata: \{"a":1\}\n\n/);
  assert.ok(text.indexOf('event: system') < text.indexOf('event: thing'));
  stream.close();
});

test('SSE heartbeat comments arrive on the configured interval', async () => {
  const fast = await startGateway({ sseHeartbeatMs: 100 });
  const stream = await rawSse(`${fast.url}/realtime/events`);
  const start = Date.now();
  while ((stream.text().match(/: heartbeat\n\n/g) ?? []).length < 2 && Date.now() - start < 3000)
    await new Promise((r) => setTimeout(r, 20));
  assert.ok((stream.text().match(/: heartbeat\n\n/g) ?? []).length >= 2);
  stream.close();
  await fast.close();
});

test('bad SSE queries get a JSON error naming the problem', async () => {
  const bad = await fetch(`${gw.url}/realtime/events?channels=ok,bad%20name`);
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as any).error.message, /bad name/);
  const badId = await fetch(`${gw.url}/realtime/events`, { headers: { 'Last-Event-ID': 'yesterday' } });
  assert.equal(badId.status, 400);
  assert.match(((await badId.json()) as any).error.message, /yesterday/);
});

test('WS join_channel with since replays the missed events in order', async () => {
  const ws = await TestWs.open(gw.wsUrl);
  await ws.command('join_channel', { channel: 'resume:w' });
  await send('resume:w', { n: 1 });
  const first = await ws.next((f) => f.type === 'event' && f.data.n === 1);
  await ws.command('leave_channel', { channel: 'resume:w' });
  for (let i = 2; i <= 5; i++) await send('resume:w', { n: i });
  const reply = await ws.command('join_channel', { channel: 'resume:w', since: first.id });
  assert.equal(reply.ok, true);
  assert.equal(reply.data.recovered, true);
  await send('resume:w', { n: 6 });
  await ws.next((f) => f.type === 'event' && f.data.n === 6);
  assert.deepEqual(
    ws.events('resume:w').map((f) => f.data.n),
    [1, 2, 3, 4, 5, 6],
  );

  const gap = await ws.command('join_channel', { channel: 'resume:w2', since: '1000' });
  assert.equal(gap.data.recovered, false);
  assert.ok(
    ws.frames.some((f) => f.event === 'system' && f.data.type === 'recovery_failed' && f.channel === 'resume:w2'),
  );
  ws.close();
});

test('a join reply and the SSE welcome carry a resume position that works before any event was seen', async () => {
  const ws = await TestWs.open(gw.wsUrl);
  const joined = await ws.command('join_channel', { channel: 'resume:quiet' });
  assert.match(joined.data.last_id, /^\d+$/);
  await ws.command('leave_channel', { channel: 'resume:quiet' });
  await send('resume:quiet', 'a');
  await send('resume:quiet', 'b');
  await ws.command('join_channel', { channel: 'resume:quiet', since: joined.data.last_id });
  await ws.next((f) => f.type === 'event' && f.data === 'b');
  assert.deepEqual(
    ws.events('resume:quiet').map((f) => f.data),
    ['a', 'b'],
  );
  ws.close();

  const stream = await rawSse(`${gw.url}/realtime/events?channels=resume:quiet2`);
  const start = Date.now();
  while (!stream.text().includes('"connected"') && Date.now() - start < 3000)
    await new Promise((r) => setTimeout(r, 10));
  const position = /id: (\d+)\nevent: system/.exec(stream.text())?.[1];
  assert.ok(position, stream.text());
  stream.close();
  await send('resume:quiet2', 'missed');
  const again = new TestSse(`${gw.url}/realtime/events?channels=resume:quiet2`, ['system', 'tick'], position);
  assert.equal((await again.next((e) => e.type === 'tick')).data, 'missed');
  again.close();
});
