import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { WSClient, createSSEClient, type EventFrame } from '../../packages/client/src/index.js';

/** A port that was free a moment ago: the restarted gateway must come back on the same one. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

function describe(seen: number[], total: number): string {
  const counts = new Map<number, number>();
  for (const n of seen) counts.set(n, (counts.get(n) ?? 0) + 1);
  const missing = range(1, total).filter((n) => !counts.has(n));
  const doubled = [...counts].filter(([, c]) => c > 1).map(([n]) => n);
  return `${seen.length} events; missing ${JSON.stringify(missing)}; doubled ${JSON.stringify(doubled)}`;
}

test('WSClient and the SSE client ride out a server restart with no missed and no duplicated events', async () => {
  const TOTAL = 300;
  const RESTART_AT = 100;
  const port = await freePort();
  // Both processes share DATA_DIR, where the gateway keeps history across a graceful restart.
  const dataDir = await mkdtemp(join(tmpdir(), 'hubcast-sdk-restart-'));
  const config = { port, dataDir, historySize: 10_000, sseRetryMs: 100 };
  let gw: RunningGateway = await startGateway(config);
  const base = `http://127.0.0.1:${port}`;

  const ws = new WSClient(`ws://127.0.0.1:${port}/realtime/ws`, { minReconnectDelay: 50, maxReconnectDelay: 500 });
  const sse = createSSEClient(base, { channels: ['restart:seq'], minReconnectDelay: 50, maxReconnectDelay: 500 });
  const viaWs: number[] = [];
  const viaSse: number[] = [];
  const failures = { ws: 0, sse: 0 };
  ws.onMessage('event', (e: EventFrame<{ n: number }>) => {
    if (e.channel === 'restart:seq' && e.event === 'n') viaWs.push(e.data.n);
  });
  ws.onMessage('recovery_failed', () => failures.ws++);
  sse.onEvent<{ n: number }>('n', (e) => viaSse.push(e.data.n));
  sse.onEvent('recovery_failed', () => failures.sse++);
  await ws.connect();
  await ws.joinChannel('restart:seq');
  await sse.ready;

  // The producer: one event after another, each retried until a gateway accepts it.
  let published = 0;
  let stop = false;
  const producer = (async () => {
    for (let n = 1; n <= TOTAL && !stop; n++) {
      for (;;) {
        try {
          const res = await fetch(`${base}/realtime/send`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ channel: 'restart:seq', event: 'n', data: { n } }),
          });
          await res.arrayBuffer();
          if (res.status === 200) break;
        } catch {
          // connection refused or reset while the gateway is down: try again below
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      published = n;
      await new Promise((r) => setTimeout(r, 3)); // a steady stream, not a burst
    }
  })();

  try {
    await waitFor(() => published >= RESTART_AT, 10_000, `${RESTART_AT} publications`);
    await gw.close(); // WS clients get 1012, SSE streams end
    gw = await startGateway(config);
    await producer;
    await waitFor(() => viaWs.includes(TOTAL) && viaSse.includes(TOTAL), 15_000, 'the last event on both clients');
    const note = `(recovery_failed: ws ${failures.ws}, sse ${failures.sse})`;
    assert.deepEqual(viaWs, range(1, TOTAL), `WS: ${describe(viaWs, TOTAL)} ${note}`);
    assert.deepEqual(viaSse, range(1, TOTAL), `SSE: ${describe(viaSse, TOTAL)} ${note}`);
    assert.deepEqual(failures, { ws: 0, sse: 0 }, 'history survived the restart, so every resume succeeded');
  } finally {
    stop = true;
    await producer;
    ws.disconnect();
    sse.close();
    await gw.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
