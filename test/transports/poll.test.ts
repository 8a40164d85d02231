import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, postJson, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { SECRET, sign } from '../auth/tokens.js';
import { TestWs } from '../helpers/ws-client.js';
import { publishNow } from '../helpers/hub.js';

// Long polling (docs/protocol.md, "Long polling") against a real gateway.

let gw: RunningGateway;
before(async () => {
  gw = await startGateway({ historySize: 20_000, pollMaxEvents: 100 });
});
after(() => gw.close());

const send = (channel: string, data: unknown, event = 'tick') =>
  postJson(`${gw.url}/realtime/send`, { channel, event, data });

interface Answer {
  status: number;
  body: any;
  ms: number;
}
async function poll(query: string, init: RequestInit = {}, base = gw.url): Promise<Answer> {
  const start = performance.now();
  const res = await fetch(`${base}/realtime/poll?${query}`, init);
  const body = await res.json();
  return { status: res.status, body, ms: performance.now() - start };
}

test('with events after since: answers at once, in order, each event the WS event object', async () => {
  const first = await send('poll:a', { n: 0 });
  await send('poll:a', { n: 1 });
  await send('poll:other', { n: 99 });
  await send('poll:a', 'two');
  const a = await poll(`channels=poll:a&since=${first.body.id}`);
  assert.equal(a.status, 200);
  assert.deepEqual(
    a.body.events.map((e: any) => e.data),
    [{ n: 1 }, 'two'],
  );
  for (const e of a.body.events) {
    assert.equal(e.channel, 'poll:a');
    assert.equal(e.event, 'tick');
    assert.match(e.id, /^\d+$/);
  }
  assert.equal(a.body.last_id, a.body.events[1].id);
  assert.ok(a.ms < 2000, `answered in ${a.ms.toFixed(0)} ms`);
  assert.equal(a.body.recovery_failed, undefined);
});

test('held until a publish releases it; a timeout answers with no events and a last_id to continue from', async () => {
  const start = await poll('channels=poll:held&timeout=0');
  assert.deepEqual(start.body.events, []);
  const pending = poll(`channels=poll:held&since=${start.body.last_id}&timeout=20`);
  await waitFor(() => gw.gateway.poll.held === 1, 5000, 'the poll to be held');
  const published = performance.now();
  const sent = await send('poll:held', { hello: 1 });
  const a = await pending;
  const latency = performance.now() - published;
  console.log(`held poll released ${latency.toFixed(1)} ms after the publish`);
  assert.deepEqual(
    a.body.events.map((e: any) => e.id),
    [sent.body.id],
  );
  assert.equal(a.body.last_id, sent.body.id);
  assert.ok(latency < 5000);

  const t = await poll(`channels=poll:held&since=${a.body.last_id}&timeout=1`);
  console.log(`timeout=1 answered after ${t.ms.toFixed(0)} ms`);
  assert.deepEqual(t.body.events, []);
  assert.ok(Number(t.body.last_id) >= Number(a.body.last_id));
  assert.ok(t.ms >= 900 && t.ms < 5000, `timeout after ${t.ms} ms`);
  assert.equal(gw.gateway.poll.held, 0);
});

test('without since: only events published after the request arrived', async () => {
  await send('poll:fresh', 'before');
  const pending = poll('channels=poll:fresh&timeout=20');
  await waitFor(() => gw.gateway.poll.held === 1, 5000, 'the poll to be held');
  await send('poll:fresh', 'after');
  const a = await pending;
  assert.deepEqual(
    a.body.events.map((e: any) => e.data),
    ['after'],
  );
});

test('broadcasts and the several channels of one poll come in id order', async () => {
  const start = await poll('channels=poll:m1,poll:m2&timeout=0');
  await send('poll:m2', 1);
  await send('poll:m1', 2);
  await postJson(`${gw.url}/realtime/broadcast`, { event: 'tick', data: 3 });
  await send('poll:m2', 4);
  const a = await poll(`channels=poll:m1,poll:m2&since=${start.body.last_id}`);
  assert.deepEqual(
    a.body.events.map((e: any) => e.data),
    [1, 2, 3, 4],
  );
});

test('history that no longer reaches since: recovery_failed, at once', async () => {
  const small = await startGateway({ historySize: 5 });
  try {
    const first = await postJson(`${small.url}/realtime/send`, { channel: 'poll:gap', event: 'x', data: 0 });
    for (let i = 1; i <= 10; i++)
      await postJson(`${small.url}/realtime/send`, { channel: 'poll:gap', event: 'x', data: i });
    const a = await poll(`channels=poll:gap&since=${first.body.id}&timeout=20`, {}, small.url);
    assert.equal(a.status, 200);
    assert.equal(a.body.recovery_failed, true);
    assert.deepEqual(a.body.channels, ['poll:gap']);
    assert.deepEqual(a.body.events, []);
    assert.ok(a.ms < 5000);
    // From the last_id it gave, the client continues normally.
    const b = await poll(`channels=poll:gap&since=${a.body.last_id}&timeout=0`, {}, small.url);
    assert.equal(b.body.recovery_failed, undefined);
  } finally {
    await small.close();
  }
});

test('following last_id under a publish burst sees every event exactly once, in order, while other clients come and go (answers capped at POLL_MAX_EVENTS)', async () => {
  const TOTAL = 10_000;
  const start = await poll('channels=poll:burst&timeout=0');
  let since = start.body.last_id;
  const seen: number[] = [];
  let answers = 0;
  let biggest = 0;
  const hub = gw.gateway.hub;
  const publisher = (async () => {
    for (let i = 0; i < TOTAL; ) {
      // Bursts of in-process publishes with pauses, so polls are sometimes held and released by the
      // fan-out's tap, sometimes answered from history.
      for (const end = Math.min(TOTAL, i + 20); i < end; i++) publishNow(hub, 'poll:burst', 'n', i);
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  // Others on the channel meanwhile: polls that give up early, WS clients that join and leave.
  let churning = true;
  const churn = (async () => {
    let rounds = 0;
    while (churning && rounds++ < 200) {
      const ac = new AbortController();
      const p = fetch(`${gw.url}/realtime/poll?channels=poll:burst&timeout=5`, { signal: ac.signal }).catch(() => null);
      const ws = await TestWs.open(gw.wsUrl);
      await ws.command('join_channel', { channel: 'poll:burst' });
      ac.abort();
      await p;
      ws.close();
    }
  })();
  const deadline = Date.now() + 20_000;
  while (seen.length < TOTAL && Date.now() < deadline) {
    const a = await poll(`channels=poll:burst&since=${since}&timeout=5`);
    answers++;
    biggest = Math.max(biggest, a.body.events.length);
    for (const e of a.body.events) seen.push(e.data);
    since = a.body.last_id;
  }
  await publisher;
  churning = false;
  await churn;
  console.log(`${TOTAL} events in ${answers} answers, at most ${biggest} per answer`);
  assert.equal(seen.length, TOTAL);
  assert.deepEqual(
    seen,
    Array.from({ length: TOTAL }, (_, i) => i),
  );
  assert.ok(biggest <= 100, 'capped at POLL_MAX_EVENTS');
});

test('bad parameters are refused with a code naming what was wrong', async () => {
  const cases: Array<[string, number, string]> = [
    ['channels=poll:a&since=abc', 400, 'bad_request'],
    ['channels=poll:a&timeout=31', 400, 'bad_request'],
    ['channels=poll:a&timeout=-1', 400, 'bad_request'],
    ['channels=poll:a&timeout=soon', 400, 'bad_request'],
    ['channels=bad%20name', 400, 'invalid_channel'],
  ];
  for (const [query, status, code] of cases) {
    const a = await poll(query);
    assert.equal(a.status, status, query);
    assert.equal(a.body.error?.code, code, query);
  }
  const put = await fetch(`${gw.url}/realtime/poll?channels=poll:a`, { method: 'PUT' });
  assert.equal(put.status, 405);
  assert.equal(put.headers.get('allow'), 'GET, POST');
  await put.text();
});

const publish = (body: unknown, init: RequestInit = {}, base = gw.url) =>
  fetch(`${base}/realtime/poll`, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
    headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
  }).then(async (r) => ({ status: r.status, body: await r.json() }));

test('POST /realtime/poll publishes a channel message as the WebSocket channel_message does; bad ones are refused with a code', async () => {
  const ws = await TestWs.open(gw.wsUrl);
  try {
    await ws.command('join_channel', { channel: 'poll:post' });
    const sent = await publish({ channel: 'poll:post', message: { text: 'hi' } });
    assert.equal(sent.status, 200);
    assert.match(sent.body.id, /^\d+$/);
    const e = await ws.next((f: any) => f.type === 'event' && f.channel === 'poll:post');
    assert.equal(e.event, 'message');
    assert.equal(e.id, sent.body.id);
    assert.deepEqual(e.data.message, { text: 'hi' });
    assert.match(e.data.client_id, /^http-/);
  } finally {
    ws.close();
  }
  const cases: Array<[unknown, number, string]> = [
    ['not json', 400, 'bad_request'],
    [[1], 400, 'bad_request'],
    [{ channel: 'poll:post' }, 400, 'bad_request'],
    [{ channel: 'bad name', message: 1 }, 400, 'invalid_channel'],
    [{ channel: 'poll:post', message: 1, extra: 2 }, 400, 'bad_request'],
    [{ channel: 'poll:post', message: 'x'.repeat(2_000_000) }, 413, 'payload_too_large'],
  ];
  for (const [body, status, code] of cases) {
    const r = await publish(body);
    assert.equal(r.status, status, JSON.stringify(body).slice(0, 60));
    assert.equal(r.body.error?.code, code, JSON.stringify(body).slice(0, 60));
  }
  const text = await fetch(`${gw.url}/realtime/poll`, {
    method: 'POST',
    body: '{}',
    headers: { 'content-type': 'text/plain' },
  });
  assert.equal(text.status, 415);
  await text.text();
});

test('POST /realtime/poll is held to WS_RATE_LIMIT per user or client address: 429 rate_limited with Retry-After', async () => {
  const g = await startGateway({ jwtSecret: SECRET, wsRateLimit: 2, wsRateBurst: 3 });
  try {
    const bearer = async (user: string) => ({
      headers: { authorization: `Bearer ${await sign(user, { channels: ['poll:*'] })}` },
    });
    const alice = await bearer('alice');
    for (let i = 0; i < 3; i++)
      assert.equal((await publish({ channel: 'poll:r', message: i }, alice, g.url)).status, 200);
    const over = await fetch(`${g.url}/realtime/poll`, {
      method: 'POST',
      body: JSON.stringify({ channel: 'poll:r', message: 3 }),
      headers: { 'content-type': 'application/json', ...alice.headers },
    });
    assert.equal(over.status, 429);
    assert.equal(((await over.json()) as any).error.code, 'rate_limited');
    assert.ok(Number(over.headers.get('retry-after')) >= 1, 'Retry-After in seconds');
    // Another user has a bucket of its own.
    assert.equal((await publish({ channel: 'poll:r', message: 'b' }, await bearer('bob'), g.url)).status, 200);
    const stats = (await (await fetch(`${g.url}/realtime/stats`)).json()) as any;
    assert.equal(stats.rate_limited_frames, 1);
    // The bucket refills at 2 per second.
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await publish({ channel: 'poll:r', message: 4 }, alice, g.url)).status, 200);
  } finally {
    await g.close();
  }
});

test('auth, origin, channel permissions and connection limits as for SSE', async () => {
  const g = await startGateway({ jwtSecret: SECRET, allowedOrigins: ['https://app.example'], maxConnections: 2 });
  try {
    const none = await poll('channels=poll:x&timeout=0', {}, g.url);
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, 'unauthorized');
    const token = await sign('alice', { channels: ['chat:*'] });
    const ok = await poll(`channels=chat:a&timeout=0&token=${token}`, {}, g.url);
    assert.equal(ok.status, 200);
    // Publishing by POST: the same token rules as the WebSocket's channel_message.
    assert.equal((await publish({ channel: 'chat:a', message: 1 }, {}, g.url)).body.error?.code, 'unauthorized');
    const auth = { headers: { authorization: `Bearer ${token}` } };
    assert.equal((await publish({ channel: 'secret:a', message: 1 }, auth, g.url)).body.error?.code, 'forbidden');
    assert.equal((await publish({ channel: 'chat:a', message: 1 }, auth, g.url)).status, 200);
    const bearer = await poll('channels=chat:a&timeout=0', { headers: { authorization: `Bearer ${token}` } }, g.url);
    assert.equal(bearer.status, 200);
    const denied = await poll(`channels=secret:a&timeout=0&token=${token}`, {}, g.url);
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error.code, 'forbidden');
    const origin = await poll(
      `channels=chat:a&timeout=0&token=${token}`,
      { headers: { origin: 'https://evil.example' } },
      g.url,
    );
    assert.equal(origin.status, 403);

    // Two held polls fill the node; a third is refused; answers give the slots back.
    const held = [
      poll(`channels=chat:a&timeout=20&token=${token}`, {}, g.url),
      poll(`channels=chat:b&timeout=20&token=${token}`, {}, g.url),
    ];
    await waitFor(() => g.gateway.poll.held === 2, 5000, 'two held polls');
    const third = await poll(`channels=chat:c&timeout=0&token=${token}`, {}, g.url);
    assert.equal(third.status, 503);
    assert.equal(third.body.error.code, 'too_many_connections');
    await postJson(`${g.url}/realtime/send`, { channel: 'chat:a', event: 'x', data: 1 });
    await postJson(`${g.url}/realtime/send`, { channel: 'chat:b', event: 'x', data: 2 });
    const answers = await Promise.all(held);
    assert.deepEqual(
      answers.map((a) => a.body.events.length),
      [1, 1],
    );
    await waitFor(() => g.gateway.gate.inUse === 0, 5000, 'slots given back');
    const again = await poll(`channels=chat:c&timeout=0&token=${token}`, {}, g.url);
    assert.equal(again.status, 200);
  } finally {
    await g.close();
  }
});

test('a client that goes away while held gives its slot back', async () => {
  const ac = new AbortController();
  const pending = fetch(`${gw.url}/realtime/poll?channels=poll:gone&timeout=20`, { signal: ac.signal }).catch(
    () => null,
  );
  await waitFor(() => gw.gateway.poll.held === 1, 5000, 'the poll to be held');
  ac.abort();
  await pending;
  await waitFor(() => gw.gateway.poll.held === 0 && gw.gateway.gate.inUse === 0, 5000, 'the waiter to be gone');
});

test('500 held polls: one publish releases them all; memory per held poll printed', async () => {
  const N = 500;
  const start = await poll('channels=poll:many&timeout=0');
  global.gc?.();
  const before = process.memoryUsage().heapUsed;
  const all = Array.from({ length: N }, () => poll(`channels=poll:many&since=${start.body.last_id}&timeout=25`));
  await waitFor(() => gw.gateway.poll.held === N, 15_000, `${N} held polls`);
  const heapPer = (process.memoryUsage().heapUsed - before) / N;
  const published = performance.now();
  await send('poll:many', 'go');
  const answers = await Promise.all(all);
  const releasedIn = performance.now() - published;
  console.log(
    `${N} held polls released in ${releasedIn.toFixed(0)} ms; heap per held poll (client and server in this process) ≈ ${(heapPer / 1024).toFixed(1)} KiB`,
  );
  assert.ok(answers.every((a) => a.body.events.length === 1 && a.body.events[0].data === 'go'));
  assert.ok(releasedIn < 10_000);
  assert.equal(gw.gateway.poll.held, 0);
});
