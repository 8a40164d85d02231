/**
 * Chat: (1) posts per second accepted through WebSocket with R rooms × M members, each post
 * stored in PostgreSQL and fanned out to the room, with p50/p99 from post to delivery; (2) the
 * history query for the newest page and for a page 900,000 messages deep in a 1,000,000-message
 * room (on PostgreSQL, through the store the gateway uses).
 *
 * Uses the PostgreSQL of scripts/services.sh (started if not running), in a fresh database that
 * is dropped afterwards; the gateway is `node dist/cli.js gateway` (build first), the clients run
 * here. One poster per room keeps --window posts in flight for --seconds.
 *
 *   npm run bench:chat -- [--rooms 100] [--members 20] [--seconds 10] [--window 4] [--deep 1000000] [--redis] [--smoke]
 */
import { parseArgs } from 'node:util';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { pino } from 'pino';
import { Histogram, cpuMicros, fmtMs, fmtInt, nowMicros } from './lib/measure.js';
import { freePort, logDir, startGatewayProcess, stopChild, useServices, warnIfDistStale } from './lib/harness.js';
import { createPostgresDatabase } from './lib/scratch-db.js';
import { PostgresDatabase } from '../src/store/postgres.js';
import { SqlChatStore } from '../src/apps/chat/sql-store.js';

const { values: opts } = parseArgs({
  options: {
    rooms: { type: 'string', default: '100' },
    members: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '10' },
    window: { type: 'string', default: '4' },
    deep: { type: 'string', default: '1000000' },
    redis: { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
  },
});
const smoke = opts.smoke!;
const ROOMS = smoke ? 5 : Number(opts.rooms);
const MEMBERS = smoke ? 3 : Number(opts.members);
const SECONDS = smoke ? 1 : Number(opts.seconds);
const WINDOW = Number(opts.window);
const DEEP = smoke ? 20_000 : Number(opts.deep);

useServices({
  private: false,
  need: ['HUBCAST_TEST_DATABASE_URL', ...(opts.redis ? ['HUBCAST_TEST_REDIS_URL'] : [])],
  services: ['postgres', ...(opts.redis ? ['redis'] : [])],
});
warnIfDistStale();

async function withDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const admin = new URL(process.env.HUBCAST_TEST_DATABASE_URL!);
  admin.pathname = '/postgres';
  const scratch = await createPostgresDatabase(admin.toString(), `hubcast_bench_chat_${process.pid}_${Date.now()}`);
  try {
    return await fn(scratch.config.databaseUrl!);
  } finally {
    await scratch.drop();
  }
}

const open = (url: string) =>
  new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });

async function throughput(dbUrl: string): Promise<void> {
  const port = await freePort();
  const logs = logDir('chat');
  let stopping = false;
  const env: Record<string, string> = {
    PORT: String(port),
    DATABASE_URL: dbUrl,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'hubcast-bench-chat-')),
    LOG_LEVEL: 'warn',
    CHAT_RATE_LIMIT: '0',
    WS_RATE_LIMIT: '0',
    REALTIME_MAX_CONNECTIONS_PER_IP: '0',
    ...(opts.redis
      ? { REDIS_URL: process.env.HUBCAST_TEST_REDIS_URL!, REDIS_PREFIX: `bench-chat-${process.pid}:` }
      : {}),
  };
  const gateway = await startGatewayProcess({ nodeArgs: [], env, port, logs, stopping: () => stopping });
  const base = `ws://127.0.0.1:${port}/realtime/ws`;
  const latency = new Histogram();
  let accepted = 0;
  let refused = 0;
  let delivered = 0;
  let measuring = false;
  const sockets: WebSocket[] = [];
  const posters: Array<{ ws: WebSocket; room: string }> = [];
  for (let r = 0; r < ROOMS; r++) {
    const room = `bench-${r}`;
    for (let m = 0; m < MEMBERS; m++) {
      const ws = await open(`${base}?user_id=u${r}-${m}`);
      sockets.push(ws);
      ws.on('message', (raw) => {
        const f = JSON.parse(String(raw));
        if (f.type === 'event' && f.event === 'chat.message') {
          if (!measuring) return;
          delivered++;
          latency.record(nowMicros() - Number(f.data.text.split(' ')[0]));
        }
      });
      ws.send(JSON.stringify({ type: 'command', command: 'join_channel', data: { channel: `chat:${room}` } }));
      if (m === 0) posters.push({ ws, room });
    }
  }
  await new Promise((r) => setTimeout(r, 500)); // joins are answered before posting starts
  let seq = 0;
  let running = true;
  const post = (p: { ws: WebSocket; room: string }) => {
    if (!running) return;
    p.ws.send(
      JSON.stringify({
        type: 'channel_message',
        channel: `chat:${p.room}`,
        message: { text: `${nowMicros()} hello`, client_msg_id: `c${++seq}` },
        ref: seq,
      }),
    );
  };
  for (const p of posters) {
    p.ws.on('message', (raw) => {
      const f = JSON.parse(String(raw));
      if (f.type === 'reply' && f.data?.message) {
        if (measuring) accepted++;
        post(p);
      } else if (f.type === 'error' && f.ref !== undefined) {
        refused++;
        post(p);
      }
    });
  }
  // Warm-up second, then the measured window.
  for (const p of posters) for (let i = 0; i < WINDOW; i++) post(p);
  await new Promise((r) => setTimeout(r, smoke ? 200 : 1000));
  measuring = true;
  const cpu0 = { gateway: cpuMicros(gateway.pid!), clients: process.cpuUsage() };
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  const gatewayCpu = (cpuMicros(gateway.pid!) - cpu0.gateway) / 1e4 / elapsed;
  const used = process.cpuUsage(cpu0.clients);
  const clientCpu = (used.user + used.system) / 1e4 / elapsed;
  running = false;
  console.log(
    `posts: ${ROOMS} rooms × ${MEMBERS} members, ${WINDOW} in flight per room, ${SECONDS} s${opts.redis ? ', with the Redis bus' : ''}`,
  );
  console.log(
    `  accepted ${fmtInt(Math.round(accepted / elapsed))} posts/s (stored and published), deliveries ${fmtInt(Math.round(delivered / elapsed))}/s, refused ${refused}`,
  );
  console.log(
    `  CPU: gateway ${gatewayCpu.toFixed(0)} % of one core (${fmtInt(((gatewayCpu / 100) * 1e6) / (accepted / elapsed))} µs per post with its ${MEMBERS} deliveries), clients (this process) ${clientCpu.toFixed(0)} %`,
  );
  console.log(
    `  post → delivery: p50 ${fmtMs(latency.quantile(0.5))} ms, p99 ${fmtMs(latency.quantile(0.99))} ms, max ${fmtMs(latency.max)} ms`,
  );
  for (const s of sockets) s.terminate();
  stopping = true;
  await stopChild(gateway);
}

async function history(dbUrl: string): Promise<void> {
  const db = new PostgresDatabase(dbUrl, pino({ level: 'silent' }));
  try {
    const store = await SqlChatStore.open(db);
    // The store alone: how many posts/s the database takes, without the gateway around it.
    for (const concurrency of [1, 10]) {
      let n = 0;
      const end = Date.now() + (smoke ? 500 : 3000);
      const t = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async (_, i) => {
          while (Date.now() < end) {
            await store.post({ room: `store-${i}`, userId: 'u', text: 'x', clientMsgId: null });
            n++;
          }
        }),
      );
      console.log(
        `store alone: ${fmtInt(n / ((performance.now() - t) / 1000))} posts/s with ${concurrency} in flight (one statement each)`,
      );
    }
    // Other rooms' messages interleaved, as in a real table: every 10th row is another room.
    const t0 = performance.now();
    await db.query(
      `INSERT INTO chat_messages (room, user_id, text)
       SELECT CASE WHEN g % 10 = 0 THEN 'other-' || (g % 7) ELSE 'big' END, 'u' || (g % 100), 'message number ' || g
       FROM generate_series(1, $1::int) g`,
      [Math.round((DEEP * 10) / 9)],
    );
    await db.query('ANALYZE chat_messages');
    const [{ n }] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM chat_messages WHERE room = 'big'`);
    console.log(
      `history: room "big" holds ${fmtInt(n)} messages (${fmtInt(Math.round((DEEP * 10) / 9))} rows loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
    const [{ id: deepId }] = await db.query<{ id: number }>(
      `SELECT id FROM chat_messages WHERE room = 'big' ORDER BY id DESC OFFSET $1 LIMIT 1`,
      [Math.min(n - 1, Math.round(n * 0.9))],
    );
    for (const [label, before] of [
      ['newest page', null],
      [`page ${fmtInt(Math.round(n * 0.9))} deep`, deepId],
    ] as const) {
      const h = new Histogram();
      for (let i = 0; i < (smoke ? 20 : 200); i++) {
        const s = nowMicros();
        const page = await store.history('big', 50, before);
        h.record(nowMicros() - s);
        if (page.messages.length !== 50) throw new Error(`expected 50 messages, got ${page.messages.length}`);
      }
      console.log(`  ${label} (limit 50): p50 ${fmtMs(h.quantile(0.5))} ms, p99 ${fmtMs(h.quantile(0.99))} ms`);
    }
    const plan = await db.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT id FROM chat_messages WHERE room = 'big' AND id < $1 ORDER BY id DESC LIMIT 51`,
      [deepId],
    );
    console.log(`  plan: ${plan.map((r) => r['QUERY PLAN'].trim()).join(' | ')}`);
  } finally {
    await db.close();
  }
}

await withDatabase(async (url) => {
  await throughput(url);
  await history(url);
});
