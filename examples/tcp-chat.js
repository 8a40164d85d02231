#!/usr/bin/env node
// A line-based chat over the raw TCP transport: what you type goes to the room, what others say
// (TCP, WebSocket or browser clients alike) is printed. Reconnects and resumes with `since`.
// Usage: node examples/tcp-chat.js [room] [port] [host]   (the gateway runs with TCP_PORT=<port>)
// Plain Node `net`, no packages. With auth on, set HUBCAST_TOKEN (a token granting chat:*).
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const room = `chat:${process.argv[2] ?? 'lobby'}`;
const port = Number(process.argv[3] ?? process.env.TCP_PORT ?? 9000);
const host = process.argv[4] ?? '127.0.0.1';
/** The id of the last event seen: a reconnect joins with it and misses nothing. */
let lastId = null;
let socket = null;
let me = null;

function open() {
  socket = connect(port, host);
  const send = (frame) => socket.write(`${JSON.stringify(frame)}\n`);
  socket.on('connect', () => {
    if (process.env.HUBCAST_TOKEN)
      send({ type: 'command', command: 'auth', data: { token: process.env.HUBCAST_TOKEN } });
    send({
      type: 'command',
      command: 'join_channel',
      data: lastId === null ? { channel: room } : { channel: room, since: lastId },
      ref: 'join',
    });
  });
  createInterface({ input: socket }).on('line', (line) => {
    const frame = JSON.parse(line);
    if (frame.type === 'connected') me = frame.client_id;
    else if (frame.type === 'reply' && frame.ref === 'join') {
      if (lastId === null) lastId = frame.data.last_id;
      console.error(`* joined ${room} (type a line and press Enter to send)`);
    } else if (frame.type === 'event') {
      if (frame.id !== null) lastId = frame.id;
      if (frame.event === 'system') console.error('* some messages could not be replayed');
      else if (frame.event === 'message') {
        const who = frame.data.client_id === me ? 'me' : (frame.data.user_id ?? frame.data.client_id.slice(0, 8));
        console.log(
          `<${who}> ${typeof frame.data.message === 'string' ? frame.data.message : JSON.stringify(frame.data.message)}`,
        );
      }
    } else if (frame.type === 'error') console.error(`* ${frame.code}: ${frame.message}`);
  });
  socket.on('error', (err) => console.error(`* ${err.message}`));
  socket.on('close', () => {
    console.error('* disconnected; reconnecting in 2 s');
    setTimeout(open, 2000);
  });
}

open();
createInterface({ input: process.stdin }).on('line', (text) => {
  if (text.trim() === '') return;
  socket?.write(`${JSON.stringify({ type: 'channel_message', channel: room, message: text })}\n`);
});
process.stdin.on('end', () => process.exit(0));
