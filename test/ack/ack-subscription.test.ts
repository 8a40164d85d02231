import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { Acks, messagesOf, eventId } from '../../src/ack/acks.js';
import { MemoryAckPositions } from '../../src/ack/positions.js';
import { Publication } from '../../src/hub/publication.js';
import { Transport } from '../../src/hub/subscriber.js';

function fakeConn(transport = Transport.ws) {
  const written: Buffer[] = [];
  return {
    transport,
    clientId: 'c',
    userId: null,
    socket: new PassThrough(),
    bufferBytes: 1 << 20,
    replay: null,
    written,
    dropped: 0,
    write(chunk: Buffer) {
      written.push(chunk);
    },
    dropSlow() {
      this.dropped++;
    },
  };
}

const frame = (id: number, t = Transport.ws) => {
  const p = new Publication(id, 'orders', 'order', { id, s: 'a "quoted" ,"id":"9" string' });
  return t === Transport.ws ? p.wsFrame() : p.tcpLine();
};
const ids = (chunks: Buffer[], t = Transport.ws) =>
  chunks.flatMap((c) => messagesOf(c, t)).map((j) => [eventId(j), JSON.parse(j).redelivered === true]);

test('partial redeliveries keep id order: a cumulative ack still covers exactly the earlier ids', () => {
  const TIMEOUT = 1000;
  const acks = new Acks({
    timeoutMs: TIMEOUT,
    window: 100,
    positions: new MemoryAckPositions(),
    detach: () => undefined,
  });
  const conn = fakeConn();
  const sub = acks.open(conn, 'orders');
  sub.observe(Buffer.concat([frame(1), frame(2)]));
  const now = Date.now();
  sub.redeliver(now + TIMEOUT); // 1 and 2 due
  sub.observe(frame(3));
  sub.redeliver(now + TIMEOUT + 1); // only 3 due: 1 and 2 were just re-sent
  assert.deepEqual(ids(conn.written), [
    [1, true],
    [2, true],
    [3, true],
  ]);
  sub.ack(2);
  assert.equal(sub.pending, 1);
  assert.equal(sub.has(3), true);
  assert.equal(sub.has(1), false);
  sub.ack(3);
  assert.equal(sub.pending, 0);
  acks.close();
});

test('ids are found past quoted look-alikes in data; TCP lines are parsed like WS frames; a replayed id is tracked once', () => {
  const acks = new Acks({ timeoutMs: 1000, window: 2, positions: new MemoryAckPositions(), detach: () => undefined });
  const conn = fakeConn(Transport.tcp);
  const sub = acks.open(conn, 'orders');
  sub.write(Buffer.concat([frame(5, Transport.tcp), frame(6, Transport.tcp)]));
  sub.observe(frame(5, Transport.tcp)); // a replay of what is tracked already
  assert.equal(sub.pending, 2);
  assert.deepEqual(ids(conn.written, Transport.tcp), [
    [5, false],
    [6, false],
  ]);
  // Past the window: a slow consumer.
  sub.write(frame(7, Transport.tcp));
  assert.equal(conn.dropped, 1);
  assert.equal(acks.stats().ack_window_overflows, 1);
  acks.close();
});
