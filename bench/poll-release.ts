/**
 * Held long polls with nothing to send: what each costs the server, and how
 * fast one publish releases all of them.
 *
 * H clients (raw keep-alive sockets, so the client side parses little: it
 * finds the end of each response and notes the time) hold a poll each on one
 * channel. The server's RSS is read before and after; then one event is
 * published, and for each of --rounds rounds every client polls again on the
 * same socket (keep-alive) and the next publish releases them. Printed per
 * round: the server's release pass (first publication tapped → last answer
 * written, `long_poll_last_release_ms`) and what the clients saw (publish
 * request sent → first / median / last answer complete).
 *
 * The floor, measured in the same rounds so the machine's load weighs on
 * both alike: a plain `net` server (bench/servers/write-floor.ts) writing one
 * 300-byte buffer to each of H loopback sockets this process reads, run like
 * the gateway. One write per socket is what any release costs at least.
 *
 * Both servers run as `hubcast gateway` does (bin/hubcast.js's environment
 * and node flags, plain JavaScript: bench/lib/harness.ts `compiledScript`
 * says why not under tsx), pinned to CPU 0 with this process on CPU 1 when
 * taskset is there (`--no-pin` turns that off). The gateway is the core
 * (bench/servers/hubcast.ts, from dist/: run `npm run build` first).
 * `BENCH_SERVER_NODE_ARGS` replaces the node flags (e.g. `--cpu-prof`).
 *
 *   npm run bench:poll-release -- [--held 5000] [--rounds 5] [--no-pin]
 */
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { compiledScript, waitUntil, warnIfDistStale } from './lib/harness.js';
import { canPin, fmtInt, nowMicros, pin, rssKiB } from './lib/measure.js';
import { PRODUCT_LAUNCHER, benchServerNodeArgs, startServer, type ServerProc } from './lib/server-proc.js';

const { values: opts } = parseArgs({
  options: {
    held: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '5' },
    'no-pin': { type: 'boolean', default: false },
  },
});
const HELD = Number(opts.held);
const ROUNDS = Number(opts.rounds);
if (!(HELD > 0) || !(ROUNDS > 0)) throw new Error('--held and --rounds: positive numbers');
const CHANNEL = 'bench:held';
const NODE_ARGS = benchServerNodeArgs();
const PINNING = !opts['no-pin'] && canPin();
const SERVER_CPU = 0;
const CLIENT_CPU = 1;

/** One keep-alive socket that holds a poll at a time; resolves each answer's body. */
class RawPoller {
  private buf: Buffer = Buffer.alloc(0);
  private pending: ((body: string) => void) | null = null;
  constructor(private readonly socket: Socket) {
    socket.on('data', (c: Buffer) => {
      this.buf = this.buf.length === 0 ? c : Buffer.concat([this.buf, c]);
      this.parse();
    });
  }

  poll(path: string): Promise<string> {
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: bench\r\n\r\n`);
    return new Promise((resolve) => (this.pending = resolve));
  }

  /** A complete response (Content-Length or chunked body) resolves the pending poll. */
  private parse(): void {
    const headEnd = this.buf.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = this.buf.subarray(0, headEnd).toString('latin1');
    if (!head.startsWith('HTTP/1.1 200')) throw new Error(`unexpected answer: ${head.split('\r\n')[0]}`);
    if (/\r\nconnection: close/i.test(head)) throw new Error('the server closes the connection after an answer');
    const length = /\r\ncontent-length: (\d+)/i.exec(head);
    let body: string;
    let end: number;
    if (length !== null) {
      end = headEnd + 4 + Number(length[1]);
      if (this.buf.length < end) return;
      body = this.buf.subarray(headEnd + 4, end).toString();
    } else {
      const last = this.buf.indexOf('\r\n0\r\n\r\n', headEnd);
      if (last < 0) return;
      end = last + 7;
      const chunk = this.buf.subarray(headEnd + 4, last).toString();
      body = chunk.slice(chunk.indexOf('\r\n') + 2);
    }
    this.buf = this.buf.subarray(end);
    const resolve = this.pending;
    this.pending = null;
    resolve?.(body);
  }
}

/**
 * `count` connections to the floor server (added to `sockets` for cleanup);
 * the function it returns has the server write 300 bytes to each and resolves
 * its write loop's time in ms, once every connection has read its bytes.
 */
async function rawWriteFloor(floor: ServerProc, count: number, sockets: Socket[]): Promise<() => Promise<number>> {
  let received = 0;
  for (let i = 0; i < count; i++) {
    const c = connect(floor.port, '127.0.0.1');
    c.on('data', () => received++);
    sockets.push(c);
    if (i % 500 === 499) await new Promise((r) => setTimeout(r, 20));
  }
  await Promise.all(sockets.map((s) => (s.connecting ? new Promise((r) => s.once('connect', r)) : undefined)));
  const control = connect(floor.port, '127.0.0.1');
  sockets.push(control);
  let answer: ((ms: number) => void) | null = null;
  control.on('data', (c: Buffer) => answer?.(Number(String(c).trim())));
  return async () => {
    received = 0;
    const ms = await new Promise<number>((resolve) => {
      answer = resolve;
      control.write('go\n');
    });
    await waitUntil(() => received >= count, 60_000, 'the floor writes');
    return ms;
  };
}

async function http(port: number, method: string, path: string, body?: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    body,
    headers: body ? { 'content-type': 'application/json' } : {},
  });
  return res.text();
}

async function main(): Promise<void> {
  warnIfDistStale();
  const cpu = PINNING ? SERVER_CPU : undefined;
  const script = compiledScript('bench/servers/hubcast.ts');
  const env = PRODUCT_LAUNCHER.env;
  const server = await startServer({ name: 'hubcast', args: [script], nodeArgs: NODE_ARGS, env, cpu });
  const floorServer = await startServer({
    name: 'floor',
    args: [compiledScript('bench/servers/write-floor.ts')],
    nodeArgs: NODE_ARGS,
    env,
    cpu,
  });
  if (PINNING) pin(process.pid, CLIENT_CPU);
  const { port, pid } = server;
  const sockets: Socket[] = [];
  try {
    const stats = async () => JSON.parse(await http(port, 'GET', '/realtime/stats'));
    let since = JSON.parse(await http(port, 'GET', `/realtime/poll?channels=${CHANNEL}&timeout=0`)).last_id as string;
    const before = rssKiB(pid).rss;
    const pollers: RawPoller[] = [];
    for (let i = 0; i < HELD; i++) {
      const s = connect(port, '127.0.0.1');
      s.setNoDelay(true);
      sockets.push(s);
      pollers.push(new RawPoller(s));
      if (i % 500 === 499) await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(sockets.map((s) => (s.connecting ? new Promise((r) => s.once('connect', r)) : undefined)));
    const floor = await rawWriteFloor(floorServer, HELD, sockets);
    console.log(
      `${fmtInt(HELD)} held long polls, ${ROUNDS} releases (keep-alive: every client polls again on its socket); ` +
        `servers: ${Object.entries(env)
          .map(([k, v]) => `${k}=${v} `)
          .join(
            '',
          )}node ${NODE_ARGS.join(' ')}${PINNING ? `, pinned to CPU ${SERVER_CPU}, clients to CPU ${CLIENT_CPU}` : ', no pinning'}\n`,
    );
    console.log('round   server pass ms   client first ms   median ms   last ms   floor ms');
    const rows = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const done: number[] = [];
      const answers = pollers.map((p) =>
        p.poll(`/realtime/poll?channels=${CHANNEL}&since=${since}&timeout=30`).then((body) => {
          done.push(nowMicros());
          return body;
        }),
      );
      await waitUntil(async () => (await stats()).long_poll_held >= HELD, 60_000, `${HELD} held polls`);
      await new Promise((r) => setTimeout(r, 300));
      if (round === 1) {
        const after = rssKiB(pid).rss;
        console.log(
          `(server RSS ${fmtInt(before)} → ${fmtInt(after)} KiB: ${((after - before) / HELD).toFixed(1)} KiB per held poll)`,
        );
        rows.push({ held: HELD, rss_kib_per_held_poll: (after - before) / HELD });
      }
      const publishedAt = nowMicros();
      const sent = JSON.parse(
        await http(
          port,
          'POST',
          '/realtime/send',
          JSON.stringify({ channel: CHANNEL, event: 'tick', data: { round } }),
        ),
      );
      const bodies = await Promise.all(answers);
      for (const b of bodies) {
        const a = JSON.parse(b);
        if (a.last_id !== sent.id || a.events.length !== 1)
          throw new Error(`round ${round}: answer ${b.slice(0, 200)} (published ${sent.id})`);
      }
      since = sent.id;
      done.sort((a, b) => a - b);
      const ms = (t: number) => (t - publishedAt) / 1000;
      const serverMs = (await stats()).long_poll_last_release_ms as number;
      const floorMs = await floor();
      const row = {
        round,
        server_release_ms: serverMs,
        first_ms: ms(done[0]),
        median_ms: ms(done[done.length >> 1]),
        last_ms: ms(done[done.length - 1]),
        floor_ms: floorMs,
      };
      rows.push(row);
      console.log(
        `${String(round).padStart(5)} ${serverMs.toFixed(1).padStart(16)} ${row.first_ms.toFixed(1).padStart(17)} ${row.median_ms.toFixed(1).padStart(11)} ${row.last_ms.toFixed(1).padStart(9)} ${floorMs.toFixed(1).padStart(10)}`,
      );
    }
    console.log(`\n${JSON.stringify(rows)}`);
  } finally {
    for (const s of sockets) s.destroy();
    await server.stop();
    await floorServer.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
