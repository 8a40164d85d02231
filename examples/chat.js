#!/usr/bin/env node
// A console chat: joins a room, prints its history and live messages, sends what you type.
// Usage: node examples/chat.js <name> [room] [http://127.0.0.1:8000]   (or HUBCAST_URL; HUBCAST_TOKEN with auth on)
// Plain JavaScript for Node >= 20; needs only the `ws` package.
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';

const [name, room = 'lobby', base = process.env.HUBCAST_URL ?? 'http://127.0.0.1:8000'] = process.argv.slice(2);
if (!name) {
  console.error('usage: node examples/chat.js <name> [room] [url]');
  process.exit(2);
}
const token = process.env.HUBCAST_TOKEN;
const http = base.replace(/^ws/, 'http');
const url = new URL('/realtime/ws', http);
url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
url.searchParams.set('user_id', name);
if (token) url.searchParams.set('token', token);
const channel = `chat:${room}`;

const seen = new Set(); // message ids printed: a message is printed once, however it arrives
const unsent = new Map(); // client_msg_id → text, until the server acknowledges it
let lastEventId = null;
let attempt = 0;
let ws = null;

function print(m) {
  if (seen.has(m.id)) return;
  seen.add(m.id);
  const time = new Date(m.created_at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  // JSON.stringify-free: text is printed as typed; control characters were refused by the server.
  console.log(`${time} ${m.user_id}: ${m.text}`);
}

async function history() {
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  const res = await fetch(`${http}/api/chat/rooms/${room}/messages?limit=50`, { headers });
  if (!res.ok) throw new Error(`history: HTTP ${res.status}`);
  for (const m of (await res.json()).messages) print(m);
}

function send(cid) {
  if (ws?.readyState === WebSocket.OPEN) {
    ws.send(
      JSON.stringify({
        type: 'channel_message',
        channel,
        message: { text: unsent.get(cid), client_msg_id: cid },
        ref: cid,
      }),
    );
  }
}

function connect() {
  ws = new WebSocket(url);
  ws.on('message', (raw) => {
    const f = JSON.parse(String(raw));
    if (f.type === 'connected') {
      ws.send(
        JSON.stringify({
          type: 'command',
          command: 'join_channel',
          data: lastEventId ? { channel, since: lastEventId } : { channel },
          ref: 'join',
        }),
      );
    } else if (f.type === 'reply' && f.ref === 'join') {
      attempt = 0;
      lastEventId ??= f.data.last_id;
      // History covers what the replay could not (and, the first time, what was said before we came).
      history()
        .catch((err) => console.error(err.message))
        .then(() => {
          for (const cid of unsent.keys()) send(cid);
        });
    } else if (f.type === 'reply' && f.data?.message) {
      unsent.delete(f.ref);
      print(f.data.message);
    } else if (f.type === 'event' && f.channel === channel) {
      if (f.id) lastEventId = f.id;
      if (f.event === 'chat.message') print(f.data);
      else if (f.event === 'presence.join') console.log(`* ${f.data.user_id ?? 'someone'} joined`);
      else if (f.event === 'presence.leave') console.log(`* ${f.data.user_id ?? 'someone'} left`);
    } else if (f.type === 'error') {
      console.error(`! ${f.code}: ${f.message}`);
      if (f.code !== 'not_ready' && f.code !== 'rate_limited') unsent.delete(f.ref);
    }
  });
  ws.on('close', () => {
    const delay = Math.random() * Math.min(5000, 250 * 2 ** attempt++);
    console.error(`* disconnected; reconnecting in ${Math.round(delay)} ms`);
    setTimeout(connect, delay);
  });
  ws.on('error', (err) => console.error(`* ${err.message}`));
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (!line.trim()) return;
  const cid = randomUUID();
  unsent.set(cid, line);
  send(cid);
});
rl.on('close', () => process.exit(0));
console.error(`* ${name} in #${room} at ${http} (Ctrl-D quits)`);
connect();
