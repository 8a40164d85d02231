import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, waitFor } from '../helpers/gateway.js';
import WebSocket from 'ws';

/** Resources of the process (sockets, timers) by kind, for leak checks. */
function resources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

test('1,000 open/close cycles each of SSE and WS leave zero connections, zero channels and no leftovers', async () => {
  const gw = await startGateway();
  const before = resources();
  const CYCLES = 1000;
  const BATCH = 50;
  for (let done = 0; done < CYCLES; done += BATCH) {
    await Promise.all(
      Array.from({ length: BATCH }, async (_, i) => {
        const ctl = new AbortController();
        const res = await fetch(`${gw.url}/realtime/events?channels=cycle:${(done + i) % 7},products`, {
          signal: ctl.signal,
        });
        const reader = res.body!.getReader();
        await reader.read(); // the head and the welcome event
        ctl.abort();
        await reader.cancel().catch(() => undefined);
      }),
    );
    await Promise.all(
      Array.from(
        { length: BATCH },
        (_, i) =>
          new Promise<void>((resolve, reject) => {
            const ws = new WebSocket(gw.wsUrl);
            ws.on('message', () => {
              ws.send(
                JSON.stringify({
                  type: 'command',
                  command: 'join_channel',
                  data: { channel: `cycle:${(done + i) % 7}` },
                }),
              );
              ws.close();
            });
            ws.on('close', () => resolve());
            ws.on('error', reject);
          }),
      ),
    );
  }
  await waitFor(() => gw.gateway.hub.connectionCount === 0, 10_000, 'all connections to close');
  const stats = (await (await fetch(`${gw.url}/realtime/stats`)).json()) as any;
  assert.equal(stats.websocket_count, 0);
  assert.equal(stats.sse_count, 0);
  assert.equal(stats.channels, 0);
  // Client sockets in this process close asynchronously too: wait for the handle count to settle.
  await waitFor(
    () => (resources().TCPSocketWrap ?? 0) <= (before.TCPSocketWrap ?? 0) + 2,
    10_000,
    'sockets to be released',
  );
  const after = resources();
  assert.ok(
    (after.Timeout ?? 0) <= (before.Timeout ?? 0) + 2,
    `timers: ${JSON.stringify(before)} → ${JSON.stringify(after)}`,
  );
  const server = gw.gateway.app.server;
  assert.ok(server.listenerCount('upgrade') <= 1);
  await gw.close();
});
