#!/usr/bin/env node
// The raw TCP transport's echo: sends a few `text` and `json` frames, prints what comes back.
// Usage: node examples/tcp-echo.js [port] [host]   (the gateway runs with TCP_PORT=<port>)
// Plain Node `net`, no packages. Each line is one JSON frame of the WebSocket protocol.
// With auth on, set HUBCAST_TOKEN: the first frame is then the `auth` command.
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const port = Number(process.argv[2] ?? process.env.TCP_PORT ?? 9000);
const host = process.argv[3] ?? '127.0.0.1';
const socket = connect(port, host);
const send = (frame) => socket.write(`${JSON.stringify(frame)}\n`);

const toSend = [
  { type: 'text', data: 'hello over TCP' },
  { type: 'json', data: { n: 42, list: [1, 2, 3] } },
  { type: 'command', command: 'ping', ref: 'p1' },
];
let answers = 0;

socket.on('connect', () => {
  if (process.env.HUBCAST_TOKEN) send({ type: 'command', command: 'auth', data: { token: process.env.HUBCAST_TOKEN } });
  for (const frame of toSend) send(frame);
});
// Server → client: one frame per line.
createInterface({ input: socket }).on('line', (line) => {
  const frame = JSON.parse(line);
  console.log('<', line);
  if (frame.type === 'error') process.exitCode = 1;
  if (frame.type === 'text' || frame.type === 'json' || frame.ref === 'p1') answers++;
  if (answers === toSend.length) socket.end();
});
socket.on('error', (err) => {
  console.error(`tcp ${host}:${port}: ${err.message} (is the gateway running with TCP_PORT=${port}?)`);
  process.exitCode = 1;
});
