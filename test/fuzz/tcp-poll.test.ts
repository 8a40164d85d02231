import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import fc from 'fast-check';
import {
  Bystander,
  ChildGateway,
  KNOWN_CODES,
  SEED,
  cases,
  debug,
  errorOf,
  outOfTime,
  rawExchange,
  statusOf,
} from './harness.js';
import { channelish, garbageText, structuredFrame } from './arbitraries.js';

// Hostile input to the transports that came after the WS/SSE suites: raw TCP lines and long-poll
// query strings, against a gateway in its own process. A TCP line gets at most one `error` frame
// with a known code (never internal_error) and the connection stays open; a poll gets an answer,
// never a 5xx, in our error shape when refused; nothing reaches the handler guard, connection
// slots come back, and a bystander's deliveries go on.

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A raw TCP client that collects the server's lines as parsed frames. */
class TcpLines {
  readonly frames: any[] = [];
  private buffered = '';
  private waiter: (() => void) | null = null;
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffered += chunk;
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        this.frames.push(JSON.parse(this.buffered.slice(0, nl)));
        this.buffered = this.buffered.slice(nl + 1);
      }
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => undefined); // the close above says it
  }

  static async open(port: number): Promise<TcpLines> {
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const client = new TcpLines(socket);
    await client.until((f) => f.type === 'connected', 0);
    return client;
  }

  /** Index of the first frame at or after `from` that `match` accepts. */
  async until(match: (f: any) => boolean, from: number, timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex((f, k) => k >= from && match(f));
      if (i >= 0) return i;
      if (this.closed) throw new Error(`tcp connection closed; last frames ${JSON.stringify(this.frames.slice(-3))}`);
      if (Date.now() > deadline) throw new Error(`no matching tcp frame in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
      this.waiter = null;
    }
  }
}

/** A line the fuzzer sends: a structured frame, garbage text, or a frame without its newline's friends. */
const lineArb = fc.oneof(
  { weight: 3, arbitrary: structuredFrame.map((f) => JSON.stringify(f)) },
  { weight: 2, arbitrary: garbageText },
);

/** Channel names as query text: JSON for the non-strings (String() throws on an object whose `toString` key is not a function). */
const channelText = channelish.map((c) => (typeof c === 'string' ? c : JSON.stringify(c)));

/** Percent-encode every byte (encodeURIComponent throws on a lone surrogate; this encodes its UTF-8 replacement). */
const enc = (s: string) => [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

/** A query string for /realtime/poll: channels, since and timeout, each absent, plausible or hostile. */
const pollQueryArb = fc
  .record({
    channels: fc.option(
      fc.oneof(
        channelText,
        fc.array(channelText, { maxLength: 4 }).map((a) => a.join(',')),
        fc.string({ maxLength: 40 }),
      ),
      { nil: undefined },
    ),
    since: fc.option(
      fc.oneof(fc.nat().map(String), fc.string({ maxLength: 20 }), fc.constant('-1'), fc.constant('1e99')),
      { nil: undefined },
    ),
    timeout: fc.option(
      fc.oneof(fc.constant('0'), fc.integer({ min: -5, max: 40 }).map(String), fc.string({ maxLength: 8 })),
      { nil: undefined },
    ),
    extra: fc.option(fc.string({ maxLength: 30 }), { nil: undefined }),
  })
  .map((q) => {
    const parts: string[] = [];
    if (q.channels !== undefined) parts.push(`channels=${enc(q.channels)}`);
    if (q.since !== undefined) parts.push(`since=${enc(q.since)}`);
    // Held polls would make the run as long as their timeouts: a timeout the server would hold
    // for (empty, blank, or seconds as it reads them) is forced to 0; hostile ones are kept.
    const held = (t: string) => t.trim() === '' || /^\d{1,2}(\.\d{1,3})?$/.test(t.trim());
    if (q.timeout !== undefined) parts.push(`timeout=${held(q.timeout) ? '0' : enc(q.timeout)}`);
    else parts.push('timeout=0');
    if (q.extra !== undefined) parts.push(enc(q.extra));
    return parts.join('&');
  });

test('hostile TCP lines and long-poll queries: known codes, no 5xx, no crash; slots back to 0; bystanders unaffected', async (t) => {
  const tcpPort = await freePort();
  const gw = await ChildGateway.start({
    tcpPort,
    wsRateLimit: 0,
    wsRateLimitBytes: 0,
    wsMaxFrameBytes: 64 * 1024,
    historySize: 50,
  });
  t.after(() => gw.proc.kill('SIGKILL'));
  const bystander = await Bystander.start(gw.url);
  t.after(() => bystander.close());
  const port = Number(new URL(gw.url).port);
  const problems: string[] = [];
  const started = Date.now();

  // TCP: each line is followed by a marker ping; what lies between two markers' replies is that line's answer.
  const lines = fc.sample(
    lineArb.filter((l) => !l.includes('\n') && !l.includes('\r')),
    { seed: SEED, numRuns: cases(1500, 30_000) },
  );
  let client = await TcpLines.open(tcpPort);
  t.after(() => client.socket.destroy());
  for (let i = 0; i < lines.length && !outOfTime(started); i++) {
    const from = client.frames.length;
    client.socket.write(`${lines[i]}\n{"type":"command","command":"ping","ref":"m${i}"}\n`);
    const at = await client.until((f) => f.type === 'reply' && f.ref === `m${i}`, from);
    const errors = client.frames.slice(from, at).filter((f) => f.type === 'error');
    if (errors.length > 1 || errors.some((e) => !KNOWN_CODES.has(e.code) || e.code === 'internal_error')) {
      problems.push(`${JSON.stringify(lines[i].slice(0, 200))} → ${JSON.stringify(errors)}`);
    }
    if (i % 500 === 499) {
      client.socket.destroy();
      client = await TcpLines.open(tcpPort);
    }
  }
  assert.deepEqual(problems.slice(0, 5), [], `tcp lines (seed ${SEED})`);
  assert.ok(gw.alive, `gateway died (exit ${gw.exitCode}), seed ${SEED}`);
  debug('tcp done', Date.now() - started, 'ms');

  // Long polling: every answer is 200 or a refusal in our shape, never a 5xx.
  const queries = fc.sample(pollQueryArb, { seed: SEED + 1, numRuns: cases(400, 8000) });
  const statuses: Record<string, number> = {};
  for (const q of queries) {
    if (outOfTime(started)) break;
    const answer = await rawExchange(
      port,
      `GET /realtime/poll?${q} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
      { timeoutMs: 5000 },
    );
    const status = statusOf(answer);
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (!/^[24]\d\d$/.test(status)) problems.push(`poll ?${q} → ${answer.slice(0, 200)}`);
    else if (status !== '200') {
      const error = errorOf(answer);
      if (error === null || !KNOWN_CODES.has(error.code))
        problems.push(`poll ?${q} → not our error shape: ${answer.slice(0, 200)}`);
    }
  }
  assert.deepEqual(problems.slice(0, 5), [], `poll queries (seed ${SEED})`);
  assert.ok(
    (statuses['200'] ?? 0) > 0 && (statuses['400'] ?? 0) > 0,
    `both answered and refused polls: ${JSON.stringify(statuses)}`,
  );

  const { sent } = await bystander.verify();
  client.socket.destroy();
  bystander.close();
  const end = await gw.slotsFree();
  assert.equal(end.stats.handler_errors, 0, `a handler threw (see the gateway's log), seed ${SEED}`);
  t.diagnostic(
    `[fuzz tcp-poll] seed=${SEED} lines=${lines.length} polls=${queries.length} statuses ${JSON.stringify(statuses)} bystander events ${sent} in ${Date.now() - started} ms`,
  );
});
