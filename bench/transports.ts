/**
 * One workload over every transport of one gateway: N subscribers on one
 * channel, a fixed rate of ~200-byte events for S seconds, run once per
 * transport — WebSocket, SSE, raw TCP, long polling, and short polling (one
 * `timeout=0` request per client per second). Prints, per transport: delivery
 * latency p50/p99 (publish request sent → event parsed by the client; both in
 * this process, so one clock), server CPU µs per delivery, bytes the clients
 * received per delivered event (bodies and, for polling, response heads), and
 * requests per second for the polling ones.
 *
 * The server is the core gateway (bench/servers/hubcast.ts, from dist/: run
 * `npm run build` first) in its own process; the clients and the publisher
 * run here.
 *
 * Then (--held H, 0 = skip) H long polls are held with nothing to send: the
 * server's resident memory per held poll, and how long after one publish the
 * last of them is answered.
 *
 *   npm run bench:transports -- [--n 200] [--rate 20] [--seconds 5] [--transports ws,sse,tcp,long-poll,short-poll] [--held 5000]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request, Agent, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ROOT, freePort, stopChild, waitUntil } from './lib/harness.js';
import { Histogram, cpuMicros, nowMicros, fmtInt, rssKiB } from './lib/measure.js';

const { values: opts } = parseArgs({
  options: {
    n: { type: 'string', default: '200' },
    rate: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '5' },
    transports: { type: 'string', default: 'ws,sse,tcp,long-poll,short-poll' },
    held: { type: 'string', default: '5000' },
  },
});
const N = Number(opts.n);
const RATE = Number(opts.rate);
const SECONDS = Number(opts.seconds);
type Kind = 'ws' | 'sse' | 'tcp' | 'long-poll' | 'short-poll';
const kinds = opts.transports!.split(',') as Kind[];
for (const k of kinds)
  if (!['ws', 'sse', 'tcp', 'long-poll', 'short-poll'].includes(k)) throw new Error(`--transports: unknown ${k}`);
const PAD = 'x'.repeat(150);

interface Run {
  latency: Histogram;
  delivered: number;
  bytes: number;
  requests: number;
  stop: boolean;
  closers: Array<() => void>;
}

function record(run: Run, data: { t: number }): void {
  run.latency.record(nowMicros() - data.t);
  run.delivered++;
}

const agent = new Agent({ keepAlive: true, maxSockets: Infinity });

function get(
  port: number,
  path: string,
  onBytes: (n: number) => void,
): Promise<{ res: IncomingMessage; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      // A response head is about this many bytes plus its header lines.
      let head = 17;
      for (let i = 0; i < res.rawHeaders.length; i += 2)
        head += res.rawHeaders[i].length + res.rawHeaders[i + 1].length + 4;
      onBytes(head);
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
        onBytes(Buffer.byteLength(c));
      });
      res.on('end', () => resolve({ res, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function connectClients(kind: Kind, port: number, tcpPort: number, channel: string, run: Run): Promise<void> {
  const ready: Array<Promise<void>> = [];
  for (let i = 0; i < N; i++) {
    if (kind === 'ws') {
      ready.push(
        new Promise((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/realtime/ws`);
          ws.on('message', (raw: Buffer) => {
            run.bytes += raw.length + 2;
            const f = JSON.parse(String(raw));
            if (f.type === 'event') record(run, f.data);
            else if (f.type === 'reply') resolve();
          });
          ws.on('open', () =>
            ws.send(JSON.stringify({ type: 'command', command: 'join_channel', data: { channel }, ref: 1 })),
          );
          ws.on('error', reject);
          run.closers.push(() => ws.terminate());
        }),
      );
    } else if (kind === 'tcp') {
      ready.push(
        new Promise((resolve, reject) => {
          const s: Socket = connect(tcpPort, '127.0.0.1');
          let buf = '';
          s.setEncoding('utf8');
          s.on('data', (c: string) => {
            run.bytes += Buffer.byteLength(c);
            buf += c;
            let nl: number;
            while ((nl = buf.indexOf('\n')) !== -1) {
              const f = JSON.parse(buf.slice(0, nl));
              buf = buf.slice(nl + 1);
              if (f.type === 'event') record(run, f.data);
              else if (f.type === 'reply') resolve();
            }
          });
          s.on('connect', () =>
            s.write(`${JSON.stringify({ type: 'command', command: 'join_channel', data: { channel }, ref: 1 })}\n`),
          );
          s.on('error', reject);
          run.closers.push(() => s.destroy());
        }),
      );
    } else if (kind === 'sse') {
      ready.push(
        new Promise((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port, path: `/realtime/events?channels=${channel}` }, (res) => {
            res.setEncoding('utf8');
            let buf = '';
            res.on('data', (c: string) => {
              run.bytes += Buffer.byteLength(c);
              buf += c;
              let end: number;
              while ((end = buf.indexOf('\n\n')) !== -1) {
                const block = buf.slice(0, end);
                buf = buf.slice(end + 2);
                const data = /^data: (.*)$/m.exec(block)?.[1];
                if (/^event: system$/m.test(block)) resolve();
                else if (data !== undefined) record(run, JSON.parse(data));
              }
            });
          });
          req.on('error', reject);
          req.end();
          run.closers.push(() => req.destroy());
        }),
      );
    } else {
      const short = kind === 'short-poll';
      ready.push(
        (async () => {
          const first = await get(port, `/realtime/poll?channels=${channel}&timeout=0`, () => undefined);
          let since = JSON.parse(first.body).last_id as string;
          void (async () => {
            let next = Date.now();
            while (!run.stop) {
              if (short) {
                next += 1000;
                await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
              }
              const r = await get(
                port,
                `/realtime/poll?channels=${channel}&since=${since}&timeout=${short ? 0 : 25}`,
                (n) => (run.bytes += n + (n === 0 ? 0 : 0)),
              );
              run.requests++;
              const answer = JSON.parse(r.body);
              for (const e of answer.events) record(run, e.data);
              since = answer.last_id;
            }
          })().catch(() => undefined);
        })(),
      );
    }
    // Connect in small batches: a burst of N handshakes is not what this measures.
    if (i % 50 === 49) await Promise.all(ready.slice(-50));
  }
  await Promise.all(ready);
}

async function publish(port: number, channel: string, run: Run): Promise<number> {
  const total = RATE * SECONDS;
  const start = Date.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const body = JSON.stringify({ channel, event: 'tick', data: { t: nowMicros(), pad: PAD } });
    await new Promise<void>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/realtime/send',
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve());
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
  void run;
  return total;
}

async function main(): Promise<void> {
  const port = await freePort();
  const tcpPort = await freePort();
  const server: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/servers/hubcast.ts')], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), TCP_PORT: String(tcpPort), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let pid = 0;
  server.stdout!.on('data', (c: Buffer) => {
    const m = /"pid":(\d+)/.exec(String(c));
    if (m) pid = Number(m[1]);
  });
  await waitUntil(() => pid !== 0, 60_000, 'the bench server');
  console.log(
    `transports: N=${N} subscribers, ${RATE} events/s × ${SECONDS} s, ~200-byte events, one transport at a time\n`,
  );
  console.log('transport      deliveries   p50 ms   p99 ms   µs CPU/delivery   bytes/event   requests/s');
  const rows: unknown[] = [];
  try {
    for (const kind of kinds) {
      const channel = `bench:${kind}`;
      const run: Run = { latency: new Histogram(), delivered: 0, bytes: 0, requests: 0, stop: false, closers: [] };
      await connectClients(kind, port, tcpPort, channel, run);
      // Settle, then measure the publishing window only.
      await new Promise((r) => setTimeout(r, 500));
      run.bytes = 0;
      run.requests = 0;
      const cpu0 = cpuMicros(pid);
      const sent = await publish(port, channel, run);
      const expected = sent * N;
      await waitUntil(
        () => run.delivered >= expected,
        kind === 'short-poll' ? 5000 : 10_000,
        `${kind}: every delivery`,
      ).catch(() => undefined);
      const cpu = cpuMicros(pid) - cpu0;
      run.stop = true;
      const s = run.latency.summaryMs();
      const row = {
        transport: kind,
        deliveries: run.delivered,
        expected,
        p50_ms: s.p50,
        p99_ms: s.p99,
        cpu_us_per_delivery: cpu / Math.max(1, run.delivered),
        bytes_per_event: run.bytes / Math.max(1, run.delivered),
        requests_per_s: run.requests / SECONDS,
      };
      rows.push(row);
      console.log(
        `${kind.padEnd(12)} ${`${fmtInt(run.delivered)}/${fmtInt(expected)}`.padStart(13)} ${s.p50.toFixed(1).padStart(8)} ${s.p99.toFixed(1).padStart(8)} ${row.cpu_us_per_delivery.toFixed(1).padStart(17)} ${row.bytes_per_event.toFixed(0).padStart(13)} ${kind.endsWith('poll') ? row.requests_per_s.toFixed(0).padStart(12) : '           -'}`,
      );
      for (const close of run.closers) close();
    }
    const held = Number(opts.held);
    if (held > 0) rows.push(await heldPolls(port, pid, held));
  } finally {
    agent.destroy();
    await stopChild(server);
  }
  console.log(`\n${JSON.stringify(rows)}`);
}

/** `count` polls held with nothing to send: server RSS per held poll, and release time after one publish. */
async function heldPolls(port: number, pid: number, count: number): Promise<Record<string, number>> {
  const channel = 'bench:held';
  const first = await get(port, `/realtime/poll?channels=${channel}&timeout=0`, () => undefined);
  const since = JSON.parse(first.body).last_id as string;
  const before = rssKiB(pid).rss;
  let answered = 0;
  let lastAt = 0;
  const polls: Array<Promise<unknown>> = [];
  for (let i = 0; i < count; i++) {
    polls.push(
      get(port, `/realtime/poll?channels=${channel}&since=${since}&timeout=30`, () => undefined).then(() => {
        answered++;
        lastAt = nowMicros();
      }),
    );
    if (i % 500 === 499) await new Promise((r) => setTimeout(r, 20));
  }
  await waitUntil(
    async () => {
      const stats = await get(port, '/realtime/stats', () => undefined);
      return JSON.parse(stats.body).long_poll_held >= count;
    },
    60_000,
    `${count} held polls`,
  );
  await new Promise((r) => setTimeout(r, 500));
  const after = rssKiB(pid).rss;
  const publishedAt = nowMicros();
  await new Promise<void>((resolve, reject) => {
    const body = JSON.stringify({ channel, event: 'tick', data: { t: publishedAt } });
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/realtime/send',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve());
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  await Promise.all(polls);
  const serverMs = JSON.parse((await get(port, '/realtime/stats', () => undefined)).body)
    .long_poll_last_release_ms as number;
  const perPollKiB = (after - before) / count;
  const releaseMs = (lastAt - publishedAt) / 1000;
  console.log(
    `\n${fmtInt(count)} held long polls: server RSS ${(perPollKiB).toFixed(1)} KiB per held poll (${fmtInt(before)} → ${fmtInt(after)} KiB); one publish answered all ${fmtInt(answered)} in ${releaseMs.toFixed(0)} ms (last answer parsed by the client; the server's release pass took ${serverMs} ms)`,
  );
  return { held: count, rss_kib_per_held_poll: perPollKiB, release_all_ms: releaseMs, server_release_ms: serverMs };
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
