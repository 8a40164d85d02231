import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startGateway, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { TestWs } from '../helpers/ws-client.js';
import { addressKey, ConnectionGate, Refusal } from '../../src/transports/connection-gate.js';

// REALTIME_MAX_CONNECTIONS_PER_IP: WS + SSE connections from one client
// address; over it the upgrade / the stream is refused with 429 before it
// starts, while other addresses still connect. Loopback aliases (127.0.0.2)
// stand in for a second client machine: a socket bound to one reaches a server
// on 127.0.0.1 with that source address.

/** Open an SSE stream from `localAddress`; resolves with the status, and a closer when it is 200. */
function sseFrom(
  gw: RunningGateway,
  localAddress: string,
): Promise<{ status: number; body: string; close: () => void }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${gw.url}/realtime/events?channels=products`, { localAddress }, (res) => {
      if (res.statusCode === 200) {
        res.once('data', () => resolve({ status: 200, body: '', close: () => req.destroy() }));
        return;
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, close: () => undefined }));
    });
    req.on('error', reject);
  });
}

async function wsFrom(gw: RunningGateway, localAddress: string): Promise<TestWs | number> {
  try {
    const ws = await TestWs.open(gw.wsUrl, { localAddress });
    await ws.next((f) => f.type === 'connected');
    return ws;
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status === undefined) throw err;
    return status;
  }
}

test('a per-IP flood is refused at the limit (429) while another address still connects; a freed slot lets the IP back in', async () => {
  const gw = await startGateway({ maxConnectionsPerIp: 10, maxConnections: 100 });
  // The flood: 40 concurrent WS and SSE attempts from 127.0.0.1.
  const attempts = await Promise.all(
    Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? wsFrom(gw, '127.0.0.1') : sseFrom(gw, '127.0.0.1'))),
  );
  const admitted = attempts.filter((a) => (typeof a === 'number' ? false : a instanceof TestWs || a.status === 200));
  const refused = attempts.filter(
    (a) => a === 429 || (typeof a === 'object' && !(a instanceof TestWs) && a.status === 429),
  );
  assert.equal(admitted.length, 10, 'exactly the limit was admitted');
  assert.equal(refused.length, 30, 'every other attempt was refused with 429');
  const sseRefusal = attempts.find(
    (a): a is { status: number; body: string; close: () => void } =>
      typeof a === 'object' && !(a instanceof TestWs) && a.status === 429,
  );
  assert.ok(sseRefusal);
  assert.equal(JSON.parse(sseRefusal.body).error.code, 'too_many_connections');
  assert.match(JSON.parse(sseRefusal.body).error.message, /per client address/);

  // Meanwhile another address is unaffected, on both transports.
  const other = await wsFrom(gw, '127.0.0.2');
  assert.ok(other instanceof TestWs, `127.0.0.2 got ${String(other)}`);
  const otherSse = await sseFrom(gw, '127.0.0.2');
  assert.equal(otherSse.status, 200);
  const stats = gw.gateway.stats();
  assert.equal(stats.connections_refused_per_ip, 30);
  assert.equal(stats.client_addresses, 2);
  assert.equal((stats.limits as Record<string, number>).max_connections_per_ip, 10);

  // Free one slot of 127.0.0.1: exactly one more connection gets in, then the limit holds again.
  const oneWs = admitted.find((a): a is TestWs => a instanceof TestWs)!;
  oneWs.close();
  await waitFor(() => gw.gateway.hub.connectionCount === 11, 3000, 'the slot to free');
  const back = await wsFrom(gw, '127.0.0.1');
  assert.ok(back instanceof TestWs, 'admitted after a slot freed');
  assert.equal(await wsFrom(gw, '127.0.0.1'), 429);

  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(metrics, /hubcast_connections_refused_per_ip_total 31/);
  assert.match(metrics, /hubcast_limit\{limit="max_connections_per_ip"\} 10/);

  for (const a of [...admitted, back, other]) {
    if (a instanceof TestWs) a.close();
    else if (typeof a === 'object') a.close();
  }
  otherSse.close();
  await waitFor(() => gw.gateway.hub.connectionCount === 0, 3000, 'everything to close');
  await waitFor(() => gw.gateway.stats().client_addresses === 0, 3000, 'per-address counts to drain');
  await gw.close();
});

test('the node-wide limit still answers 503; per-IP 0 means no per-address limit', async () => {
  const gw = await startGateway({ maxConnectionsPerIp: 0, maxConnections: 3 });
  const open = [];
  for (let i = 0; i < 3; i++) open.push(await wsFrom(gw, '127.0.0.1'));
  assert.ok(open.every((o) => o instanceof TestWs));
  assert.equal(await wsFrom(gw, '127.0.0.2'), 503);
  assert.equal((await sseFrom(gw, '127.0.0.1')).status, 503);
  assert.equal(gw.gateway.stats().connections_refused_limit, 2);
  for (const o of open) (o as TestWs).close();
  await gw.close();
});

test('addresses are counted per IPv4 address and per IPv6 /64', () => {
  assert.equal(addressKey('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(addressKey('10.1.2.3'), '10.1.2.3');
  assert.equal(addressKey('2001:db8:1:2::1'), addressKey('2001:0db8:0001:0002:ffff:0:0:9'));
  assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'));
  assert.equal(addressKey('::1'), '0:0:0:0::/64');
  assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(addressKey(undefined), '?');

  const gate = new ConnectionGate(10, 2);
  assert.equal(gate.acquire('2001:db8::1'), Refusal.none);
  assert.equal(gate.acquire('2001:db8::2'), Refusal.none);
  assert.equal(gate.acquire('2001:db8::3'), Refusal.address, 'same /64');
  assert.equal(gate.acquire('2001:db9::3'), Refusal.none, 'another /64');
  gate.release('2001:db8::1');
  assert.equal(gate.acquire('2001:db8::ffff'), Refusal.none);
  for (const a of ['2001:db8::2', '2001:db8::ffff', '2001:db9::3']) gate.release(a);
  assert.equal(gate.inUse, 0);
  assert.equal(gate.addresses, 0);
});
