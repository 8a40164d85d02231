/**
 * Every feature on every node: two gateway nodes on one Redis and one PostgreSQL, behind nginx
 * (deploy/nginx.conf). A WebRTC offer from a peer on node A reaches a peer on node B, the answer
 * comes back, and B gets `bye` when A disconnects; peer ids are held cluster-wide; a file
 * uploaded through node A downloads identically through node B and through nginx.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startGateway, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { startNginx, type RunningNginx } from '../helpers/cluster.js';
import { createTestDatabase, redisPrefix, serviceUrls, type TestDatabase } from '../helpers/services.js';
import { TestWs } from '../helpers/ws-client.js';

const OFFER = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' };
// Behind a proxy the server API needs its key.
const API_KEY = 'every-node-test-key';
const AUTH = { authorization: `Bearer ${API_KEY}` };
const ANSWER = { type: 'answer', sdp: 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n' };

describe('two gateway nodes behind nginx: signaling and uploads reach across nodes', { timeout: 60_000 }, () => {
  let db: TestDatabase;
  let a: RunningGateway;
  let b: RunningGateway;
  let nginx: RunningNginx;
  const open: TestWs[] = [];

  const signaling = (gw: RunningGateway | RunningNginx, peerId: string) =>
    `${gw.url.replace(/^http/, 'ws')}/realtime/webrtc/signaling?peer_id=${encodeURIComponent(peerId)}`;
  const connect = async (url: string) => {
    const ws = await TestWs.open(url);
    open.push(ws);
    await ws.next((f) => f.type === 'connected');
    return ws;
  };
  const signal = (ws: TestWs, frame: Record<string, unknown>) => {
    const ref = `r${Math.random().toString(36).slice(2)}`;
    ws.send({ type: 'webrtc_signal', ref, ...frame });
    return ws.next((f) => f.ref === ref);
  };

  before(async () => {
    db = await createTestDatabase();
    const shared = {
      redisUrl: serviceUrls().redisUrl,
      redisPrefix: redisPrefix(),
      databaseUrl: db.url,
      apiKey: API_KEY,
    };
    a = await startGateway({ ...shared, nodeId: 'node-a' });
    b = await startGateway({ ...shared, nodeId: 'node-b' });
    nginx = await startNginx([new URL(a.url).port, new URL(b.url).port].map(Number));
  });
  after(async () => {
    for (const ws of open) ws.close();
    await nginx?.stop();
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  it('an offer from a peer on node A reaches a peer on node B, the answer comes back, and a bye when A leaves', async () => {
    const alice = await connect(signaling(a, 'alice'));
    const bob = await connect(signaling(b, 'bob'));
    assert.deepEqual(await signal(alice, { signal_type: 'offer', target_peer_id: 'bob', sdp: OFFER }), {
      type: 'reply',
      ref: alice.frames.at(-1).ref,
      ok: true,
    });
    const offer = await bob.next((f) => f.type === 'webrtc_signal');
    assert.deepEqual(offer, {
      type: 'webrtc_signal',
      signal_type: 'offer',
      from_peer_id: 'alice',
      target_peer_id: 'bob',
      sdp: OFFER,
    });

    assert.equal((await signal(bob, { signal_type: 'answer', target_peer_id: 'alice', sdp: ANSWER })).ok, true);
    const answer = await alice.next((f) => f.type === 'webrtc_signal');
    assert.equal(answer.signal_type, 'answer');
    assert.equal(answer.from_peer_id, 'bob');
    assert.deepEqual(answer.sdp, ANSWER);

    const candidate = { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0' };
    assert.equal((await signal(alice, { signal_type: 'ice_candidate', target_peer_id: 'bob', candidate })).ok, true);
    assert.deepEqual((await bob.next((f) => f.signal_type === 'ice_candidate')).candidate, candidate);

    // Cross-node signal latency (registry lookup + bus), sequential, within the signal rate burst (50): printed, loosely bounded.
    const times: number[] = [];
    for (let i = 0; i < 30; i++) {
      const from = bob.frames.length;
      const t0 = performance.now();
      alice.send({ type: 'webrtc_signal', signal_type: 'ice_candidate', target_peer_id: 'bob', candidate: { i } });
      await bob.next((f) => f.signal_type === 'ice_candidate' && f.candidate.i === i, 5000, from);
      times.push(performance.now() - t0);
    }
    times.sort((x, y) => x - y);
    console.log(
      `[every-node] cross-node signal A→B: median ${times[15].toFixed(2)} ms, max ${times[29].toFixed(2)} ms over 30`,
    );
    assert.ok(times[15] < 500, `median ${times[15]} ms`);

    alice.close();
    const bye = await bob.next((f) => f.signal_type === 'bye');
    assert.deepEqual(bye, { type: 'webrtc_signal', signal_type: 'bye', from_peer_id: 'alice', target_peer_id: 'bob' });
    bob.close();
  });

  it('the side that only answered is owed a bye too: B leaves, A hears it', async () => {
    const carol = await connect(signaling(a, 'carol'));
    const dave = await connect(signaling(b, 'dave'));
    assert.equal((await signal(carol, { signal_type: 'offer', target_peer_id: 'dave', sdp: OFFER })).ok, true);
    await dave.next((f) => f.signal_type === 'offer');
    dave.close();
    const bye = await carol.next((f) => f.signal_type === 'bye');
    assert.equal(bye.from_peer_id, 'dave');
    // A peer that said bye itself is not told again; nobody else got one.
    assert.equal(carol.frames.filter((f) => f.signal_type === 'bye').length, 1);
    carol.close();
  });

  it('a peer id held on one node is refused on the other (409 peer_id_taken), and free again once closed', async () => {
    const erin = await connect(signaling(b, 'erin'));
    await assert.rejects(TestWs.open(signaling(a, 'erin')), (err: { status?: number }) => err.status === 409);
    await assert.rejects(TestWs.open(signaling(nginx, 'erin')), (err: { status?: number }) => err.status === 409);
    erin.close();
    await erin.waitClosed();
    // Released asynchronously when the connection closes on node B.
    let again: TestWs | null = null;
    await waitFor(
      async () => {
        again = await TestWs.open(signaling(a, 'erin')).catch(() => null);
        return again !== null;
      },
      5000,
      'erin free again on node A',
    );
    open.push(again!);
  });

  it('a signal to a peer no node holds is refused peer_not_found; a /realtime/ws peer is reachable from the other node', async () => {
    const frank = await connect(signaling(a, 'frank'));
    const missing = await signal(frank, { signal_type: 'offer', target_peer_id: 'nobody-here', sdp: OFFER });
    assert.equal(missing.type, 'error');
    assert.equal(missing.code, 'peer_not_found');

    const wsClient = await TestWs.open(b.wsUrl);
    open.push(wsClient);
    const { peer_id: wsPeer } = await wsClient.next((f) => f.type === 'connected');
    // Registered asynchronously once connected.
    await waitFor(
      async () => (await signal(frank, { signal_type: 'offer', target_peer_id: wsPeer, sdp: OFFER })).ok === true,
      5000,
      'ws peer registered',
    );
    const got = await wsClient.next((f) => f.type === 'webrtc_signal');
    assert.equal(got.from_peer_id, 'frank');
    frank.close();
  });

  it('peers that both came through nginx reach each other, whichever nodes they landed on', async () => {
    const gina = await connect(signaling(nginx, 'gina'));
    const hal = await connect(signaling(nginx, 'hal'));
    assert.equal((await signal(gina, { signal_type: 'offer', target_peer_id: 'hal', sdp: OFFER })).ok, true);
    await hal.next((f) => f.signal_type === 'offer');
    assert.equal((await signal(hal, { signal_type: 'answer', target_peer_id: 'gina', sdp: ANSWER })).ok, true);
    await gina.next((f) => f.signal_type === 'answer');
    gina.close();
    await hal.next((f) => f.signal_type === 'bye');
    hal.close();
  });

  it('a file uploaded through node A downloads identically through node B and through nginx', async () => {
    const bytes = randomBytes(256 * 1024);
    const form = new FormData();
    form.append('file', new Blob([bytes], { type: 'application/octet-stream' }), 'blob.bin');
    const res = await fetch(`${a.url}/realtime/binary/upload`, { method: 'POST', body: form, headers: AUTH });
    assert.equal(res.status, 200, await res.clone().text());
    const file = (await res.json()) as { id: string; url: string; size: number };
    assert.equal(file.size, bytes.length);
    for (const base of [b.url, nginx.url, nginx.url, a.url]) {
      const back = await fetch(`${base}${file.url}`);
      assert.equal(back.status, 200, base);
      assert.equal(back.headers.get('content-type'), 'application/octet-stream');
      assert.equal(back.headers.get('content-disposition'), 'attachment; filename="blob.bin"');
      assert.equal(back.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(back.headers.get('content-security-policy'), "default-src 'none'; sandbox");
      assert.ok(Buffer.from(await back.arrayBuffer()).equals(bytes), `identical bytes through ${base}`);
    }
    // And the other way round, the upload through nginx.
    const viaNginx = await fetch(`${nginx.url}/realtime/binary/upload`, { method: 'POST', body: form, headers: AUTH });
    assert.equal(viaNginx.status, 200, `${await viaNginx.clone().text()} ${nginx.errors(5)}`);
    const second = (await viaNginx.json()) as { url: string };
    for (const gw of [a, b])
      assert.ok(Buffer.from(await (await fetch(`${gw.url}${second.url}`)).arrayBuffer()).equals(bytes));
    assert.equal((await fetch(`${b.url}/realtime/binary/files/00000000-0000-4000-8000-000000000000`)).status, 404);
  });

  it('a node that shuts down tells the peers on other nodes bye for its connections', async () => {
    const ivan = await connect(signaling(a, 'ivan'));
    const judy = await connect(signaling(b, 'judy'));
    assert.equal((await signal(ivan, { signal_type: 'offer', target_peer_id: 'judy', sdp: OFFER })).ok, true);
    await judy.next((f) => f.signal_type === 'offer');
    await a.close();
    assert.equal((await judy.next((f) => f.signal_type === 'bye')).from_peer_id, 'ivan');
    await ivan.waitClosed();
    // Its peer ids went with it: node B may hand ivan out again at once.
    open.push(await connect(signaling(b, 'ivan')));
  });
});
