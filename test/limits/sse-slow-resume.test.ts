import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startGateway, waitFor } from '../helpers/gateway.js';
import { publishNow } from '../helpers/hub.js';

// Issue 6: an SSE client dropped for a full buffer (CLIENT_BUFFER_BYTES)
// reconnects with Last-Event-ID and gets everything it missed, once, in order.

/** Complete SSE events in `text` (after the HTTP head): [id, event, data]. */
function parseEvents(text: string): Array<{ id: string | null; event: string; data: string }> {
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  const out = [];
  const blocks = body.split('\n\n');
  blocks.pop(); // the last block may be cut off by the drop: only complete events count
  for (const block of blocks) {
    let id: string | null = null;
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length > 0) out.push({ id, event, data: data.join('\n') });
  }
  return out;
}

/** A raw SSE request; `pause` leaves it unread (a stalled client). Resolves its socket and a promise of everything read until close. */
async function rawSse(url: string, lastEventId: string | null, pause: boolean) {
  const { hostname, port, pathname, search } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  if (pause) socket.pause();
  const chunks: Buffer[] = [];
  socket.on('data', (c) => chunks.push(c));
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(Buffer.concat(chunks).toString())));
  socket.on('error', () => {}); // the drop may reset: what was read is what counts
  socket.write(
    `GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAccept: text/event-stream\r\n${lastEventId ? `Last-Event-ID: ${lastEventId}\r\n` : ''}\r\n`,
  );
  return { socket, closed, text: () => Buffer.concat(chunks).toString() };
}

test('an SSE client dropped for a full buffer resumes with Last-Event-ID and misses nothing', async () => {
  const gw = await startGateway({ clientBufferBytes: 64 * 1024, historySize: 1000, historyMaxBytes: 0 });
  try {
    const url = `${gw.url}/realtime/events?channels=flood`;
    const slow = await rawSse(url, null, true);
    await waitFor(() => gw.gateway.hub.subscriberCount('flood') === 1, 5000, 'the slow client to join');
    const payload = 'x'.repeat(40_000);
    const TOTAL = 400; // 16 MB: more than loopback's kernel buffers (~4 MB) hold
    for (let i = 0; i < TOTAL; i++) {
      publishNow(gw.gateway.hub, 'flood', 'big', { i, payload });
      await new Promise((r) => setImmediate(r)); // one flush per event
    }
    await waitFor(
      () => Number(gw.gateway.stats().slow_clients_dropped) === 1,
      10_000,
      'the slow SSE client to be dropped',
    );
    slow.socket.resume();
    const first = parseEvents(await slow.closed).filter((e) => e.event === 'big');
    assert.ok(
      first.length > 0 && first.length < TOTAL,
      `dropped part-way (${first.length} of ${TOTAL} events before the drop)`,
    );
    const lastId = first[first.length - 1].id!;

    // Reconnect as EventSource does, with the id of the last complete event.
    const again = await rawSse(url, lastId, false);
    await waitFor(
      () => parseEvents(again.text()).some((e) => e.event === 'big' && JSON.parse(e.data).i === TOTAL - 1),
      10_000,
      'the replay to reach the last event',
    );
    const second = parseEvents(again.text());
    assert.ok(
      !second.some((e) => e.event === 'system' && e.data.includes('recovery_failed')),
      'history covered the gap',
    );
    const seen = [...first, ...second.filter((e) => e.event === 'big')].map((e) => JSON.parse(e.data).i);
    assert.deepEqual(
      seen,
      Array.from({ length: TOTAL }, (_, i) => i),
      'every event once, in order',
    );
    again.socket.destroy();
  } finally {
    await gw.close();
  }
});
