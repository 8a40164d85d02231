// A gateway in its own process for the slow-consumer test (stalled-clients.serial.test.ts):
// RSS is the server's alone, and the event stream is published inside it on a
// steady clock, so a delivery's latency is measured from the moment of publish.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import { startGateway } from '../helpers/gateway.js';
import { Transport } from '../../src/hub/subscriber.js';
import { publishNow } from '../helpers/hub.js';

const overrides = JSON.parse(process.argv[2] ?? '{}');
const gw = await startGateway(overrides);
const hub = gw.gateway.hub;
const now = () => performance.timeOrigin + performance.now();

/** Resident set size now and its peak so far (Linux /proc), in bytes. */
function rss(): { rss: number; hwm: number } {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: process.memoryUsage().rss, hwm: 0 }; // not Linux: the current value only
  }
}

interface StreamRequest {
  ms: number;
  /** `ticks` events per second (~200 bytes each: what live clients measure). */
  rate: number;
}

let peak = 0;
const sampler = setInterval(() => {
  const r = rss().rss;
  if (r > peak) peak = r;
}, 20).unref();

async function stream(req: StreamRequest): Promise<number> {
  const started = now();
  let ticks = 0;
  const pad = 'x'.repeat(140);
  await new Promise<void>((resolve) => {
    // Every 2 ms, catch up to where the clock says the streams should be: a steady rate, no drift.
    const timer = setInterval(() => {
      const elapsed = now() - started;
      const due = Math.min(Math.floor((elapsed * req.rate) / 1000), Math.floor((req.ms * req.rate) / 1000));
      while (ticks < due) publishNow(hub, 'ticks', 'tick', { seq: ++ticks, t: now(), pad });
      if (elapsed >= req.ms) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
  });
  return ticks;
}

/**
 * Publish 16 KiB events on `channel` until every subscriber of it has bytes
 * queued in the server (the kernel's socket buffers toward it are full), or
 * was dropped: from then on, what it is sent queues in user space.
 */
async function fill(channel: string, timeoutMs: number): Promise<number> {
  const pad = 'f'.repeat(16 * 1024);
  const deadline = Date.now() + timeoutMs;
  let n = 0;
  const subs = () =>
    [...hub.connections(Transport.ws), ...hub.connections(Transport.sse)].filter((s) =>
      s.channels.has(channel),
    ) as unknown as Array<{ socket: Socket }>;
  while (subs().some((s) => !s.socket.destroyed && s.socket.writableLength === 0) && Date.now() < deadline) {
    publishNow(hub, channel, 'fill', { n: ++n, pad });
    await new Promise((r) => setTimeout(r, 1));
  }
  return n;
}

process.on(
  'message',
  async (m: { type: string } & Partial<StreamRequest> & { channels?: string[]; channel?: string }) => {
    if (m.type === 'fill') {
      const events = await fill(m.channel!, 60_000);
      process.send!({ type: 'filled', events, stats: gw.gateway.stats() });
    } else if (m.type === 'stream') {
      peak = 0;
      const ticks = await stream(m as StreamRequest);
      process.send!({ type: 'streamed', ticks, peak, ...rss() });
    } else if (m.type === 'state') {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (m.channels === undefined) {
        gc?.();
        gc?.();
      }
      process.send!({
        type: 'state',
        ...rss(),
        stats: gw.gateway.stats(),
        subscribers: Object.fromEntries((m.channels ?? []).map((c) => [c, hub.subscriberCount(c)])),
      });
    } else if (m.type === 'stop') {
      clearInterval(sampler);
      await gw.close();
      process.send!({ type: 'stopped' }, () => process.exit(0));
    }
  },
);
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready', url: gw.url });
