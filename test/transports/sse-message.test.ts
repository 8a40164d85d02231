import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { EventSource } from 'eventsource';
import { startGateway, postJson, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { catalogApp } from '../../src/apps/catalog/app.js';

let gw: RunningGateway;
before(async () => {
  gw = await startGateway({ generatorIntervalMs: 200 }, [catalogApp({ withGenerator: true })]);
});
after(() => gw.close());

test('format=message: a bare EventSource sees product updates in onmessage, the snippet as written', async () => {
  const es = new EventSource(`${gw.url}/realtime/events?channels=products&format=message`);
  const seen: Array<{ event: string; channel: string | null; data: any; id: string }> = [];
  es.onmessage = (e) => {
    seen.push({ ...JSON.parse(e.data), id: e.lastEventId });
  };
  try {
    await waitFor(
      () => seen.some((m) => m.channel === 'products' && m.event !== 'system'),
      20_000,
      'a product update in onmessage',
    );
    const first = seen[0];
    assert.equal(first.event, 'system', 'the welcome comes first, also unnamed');
    assert.equal(first.channel, null);
    assert.equal(first.data.type, 'connected');
    const update = seen.find((m) => m.channel === 'products' && m.event !== 'system')!;
    assert.match(update.event, /^product\./);
    assert.equal(typeof update.data, 'object');
    assert.match(update.id, /^\d+$/);
  } finally {
    es.close();
  }
});

/** The raw bytes of a stream until `until` matches them. */
async function rawStream(path: string, until: (text: string) => boolean): Promise<string> {
  const port = new URL(gw.url).port;
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timed out; got ${JSON.stringify(text)}`));
    }, 5000);
    socket.on('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
    socket.on('data', (d) => {
      text += d.toString();
      if (until(text)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('error', reject);
  });
}

test('a default stream and a format=message stream on one channel: the default bytes are as before, the message ones carry the name in data', async () => {
  const channel = 'fmt:bytes';
  const both = Promise.all([
    rawStream(`/realtime/events?channels=${channel}`, (t) => t.includes('event: greeting') && t.endsWith('\n\n')),
    rawStream(
      `/realtime/events?channels=${channel}&format=message`,
      (t) => t.includes('"event":"greeting"') && t.endsWith('\n\n'),
    ),
  ]);
  await waitFor(() => gw.gateway.hub.subscriberCount(channel) === 2, 5000, 'both streams joined');
  const sent = await postJson(`${gw.url}/realtime/send`, { channel, event: 'greeting', data: { hello: 'a\nb' } });
  assert.equal(sent.status, 200);
  assert.equal(sent.body.delivered, 2);
  const [plain, message] = await both;
  const id = sent.body.id;
  assert.ok(plain.endsWith(`id: ${id}\nevent: greeting\ndata: {"hello":"a\\nb"}\n\n`), plain);
  assert.ok(
    message.endsWith(`id: ${id}\ndata: {"event":"greeting","channel":"${channel}","data":{"hello":"a\\nb"}}\n\n`),
    message,
  );
  assert.doesNotMatch(message.split('\r\n\r\n')[1], /^event:/m, 'no event: field at all in the message format');
  assert.match(plain.split('\r\n\r\n')[1], /^event: system\n/m, 'the default welcome is still a named system event');
});

test('format=message resumes with Last-Event-ID in the same format', async () => {
  const channel = 'fmt:resume';
  const first = await postJson(`${gw.url}/realtime/send`, { channel, event: 'a', data: 1 });
  await postJson(`${gw.url}/realtime/send`, { channel, event: 'b', data: 'two' });
  const text = await rawStream(
    `/realtime/events?channels=${channel}&format=message&last_event_id=${first.body.id}`,
    (t) => t.includes('"event":"b"'),
  );
  assert.match(text, /data: \{"event":"b","channel":"fmt:resume","data":"two"\}\n\n/);
  assert.doesNotMatch(text, /"event":"a"/);
});

test('an unknown format is refused with a 400 naming it', async () => {
  const res = await fetch(`${gw.url}/realtime/events?format=xml`);
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.error.code, 'bad_request');
  assert.match(body.error.message, /format "xml"/);
});

test('format=message streams count as SSE connections in the stats', async () => {
  const es = new EventSource(`${gw.url}/realtime/events?channels=fmt:count&format=message`);
  try {
    await waitFor(() => gw.gateway.hub.subscriberCount('fmt:count') === 1, 5000, 'joined');
    const stats = await (await fetch(`${gw.url}/realtime/stats`)).json();
    assert.ok(stats.sse_count >= 1);
  } finally {
    es.close();
  }
});
