/**
 * releaseHttpState: node:http's per-connection state is freed once an SSE
 * stream owns its socket, and the socket still reports the client's close,
 * half-close and errors. Runs on every Node the project supports (20, 24): it
 * is what notices when node:http's internals change under it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { releaseHttpState } from '../../src/transports/sse/release-http.js';

async function serve(onStream: (socket: Socket, released: boolean) => void) {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    res.detachSocket(socket);
    socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n: hi\n\n');
    // As the transport does: once node:http is done with the request.
    queueMicrotask(() => onStream(socket, releaseHttpState(socket, req)));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { server, port };
}

function open(port: number): Socket {
  const client = connect({ host: '127.0.0.1', port });
  client.write('GET /realtime/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
  return client;
}

test('after release the socket holds no parser, request or node:http listener', async (t) => {
  let server: Socket | undefined;
  let released = false;
  const s = await serve((socket, ok) => {
    server = socket;
    released = ok;
  });
  t.after(() => s.server.close());
  const client = open(s.port);
  t.after(() => client.destroy());
  await once(client, 'data');
  assert.ok(server);
  assert.equal(released, true, 'released on this Node');
  assert.equal((server as Socket & { parser?: unknown }).parser, null);
  for (const event of ['data', 'end', 'close', 'drain', 'error', 'timeout', 'resume', 'pause']) {
    for (const fn of server.listeners(event)) {
      assert.doesNotMatch(
        (fn as { name: string }).name,
        /socketOn|onSocket(Resume|Pause)/,
        `${event}: ${(fn as { name: string }).name} left`,
      );
    }
  }
  assert.equal(Object.hasOwn(server, 'on') ? server.on : undefined, Object.getPrototypeOf(server).on);
  // Bytes from the client are ignored; writes still go out.
  client.write('more bytes, or a pipelined GET / HTTP/1.1\r\n\r\n');
  server.write('data: x\n\n');
  const [chunk] = (await once(client, 'data')) as [Buffer];
  assert.match(String(chunk), /data: x/);
});

test('a client that closes, half-closes or resets ends the stream', async (t) => {
  const closed: Socket[] = [];
  const s = await serve((socket) => socket.once('close', () => closed.push(socket)));
  t.after(() => s.server.close());
  const a = open(s.port);
  await once(a, 'data');
  a.destroy();
  const b = open(s.port);
  await once(b, 'data');
  b.end(); // half-close: the server must not hold the socket open
  const c = open(s.port);
  await once(c, 'data');
  c.resetAndDestroy();
  const until = Date.now() + 5000;
  while (closed.length < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  assert.equal(closed.length, 3);
  // The server closes with no connection left behind.
  s.server.close();
  await once(s.server, 'close');
});
