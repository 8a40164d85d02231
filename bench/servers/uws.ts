/**
 * The ceiling of a Node process: uWebSockets.js pub/sub (C++ server, topic
 * fan-out inside the library). Speaks the subset of hubcast's WS protocol the
 * fan-out bench uses. The package (npm mirror `@trufflesuite/uws-js-unofficial`,
 * binaries for Node ≤ 20) is installed outside the project by bench/fanout.ts
 * (see `ensureUws`); its directory comes in UWS_PATH.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const uws = require(process.env.UWS_PATH ?? '@trufflesuite/uws-js-unofficial') as any;

let nextId = 0;
const app = uws.App();
const te = new TextDecoder();
app.ws('/realtime/ws', {
  compression: uws.DISABLED,
  maxBackpressure: 64 * 1024 * 1024,
  idleTimeout: 0,
  open: (ws: any) => ws.send(JSON.stringify({ type: 'connected', client_id: String(++nextId), user_id: null })),
  message: (ws: any, data: ArrayBuffer) => {
    const msg = JSON.parse(te.decode(data));
    if (msg.type === 'command' && msg.command === 'join_channel') {
      ws.subscribe(msg.data.channel);
      ws.send(JSON.stringify({ type: 'reply', ref: msg.ref, ok: true, data: { channel: msg.data.channel } }));
    } else if (msg.type === 'channel_message') {
      const id = String(++nextId);
      app.publish(
        msg.channel,
        JSON.stringify({
          type: 'event',
          channel: msg.channel,
          event: 'message',
          id,
          data: { message: msg.message, user_id: null },
        }),
      );
      ws.send(
        JSON.stringify({
          type: 'reply',
          ref: msg.ref,
          ok: true,
          data: { id, delivered: app.numSubscribers(msg.channel) },
        }),
      );
    }
  },
});
app.listen('127.0.0.1', Number(process.env.PORT ?? 0), (token: unknown) => {
  if (!token) {
    console.error('uws: listen failed');
    process.exit(1);
  }
  process.stdout.write(JSON.stringify({ port: uws.us_socket_local_port(token), pid: process.pid }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
