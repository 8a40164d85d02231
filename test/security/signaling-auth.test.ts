import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, waitFor } from '../helpers/gateway.js';
import { TestWs } from '../helpers/ws-client.js';
import { SECRET, sign } from '../auth/tokens.js';
import { upgradeStatus } from '../auth/clients.js';

// The probe found signaling open to everyone: anonymous clients signalling
// authenticated peers, any client claiming any peer_id first (and so
// receiving offers meant for its owner), 1 MB signals pushing a victim out as
// a slow consumer, and /realtime/ws clients reachable by the client id every
// channel message shows. Each of those, replayed.

const signalingOf = (url: string) => `${url.replace(/^http/, 'ws')}/realtime/webrtc/signaling`;

async function connected(ws: TestWs): Promise<any> {
  return ws.next((f) => f.type === 'connected');
}

test('auth on: peer ids belong to token subjects; anonymous clients cannot signal; an id held is refused, not taken over', async () => {
  const gw = await startGateway({ jwtSecret: SECRET, authAnonymous: true });
  const base = signalingOf(gw.url);
  const open: TestWs[] = [];
  try {
    const [alice, bob, mallory] = await Promise.all(['alice', 'bob', 'mallory'].map((u) => sign(u)));

    // No peer_id: derived from the token.
    const a1 = await TestWs.open(`${base}?token=${alice}`);
    open.push(a1);
    assert.equal((await connected(a1)).peer_id, 'alice');
    // A further device of the same user.
    const a2 = await TestWs.open(`${base}?token=${alice}&peer_id=alice:phone`);
    open.push(a2);
    assert.equal((await connected(a2)).peer_id, 'alice:phone');

    // Someone else's id, or a made-up one, with a valid token: 403.
    for (const claim of ['alice', 'alice:x', 'bob', 'alicex', 'mallory:a:b']) {
      const r = await upgradeStatus(`${base}?token=${mallory}&peer_id=${encodeURIComponent(claim)}`);
      assert.equal(r.status, 403, claim);
      assert.equal(r.body.error.code, 'forbidden', claim);
      assert.match(r.body.error.message, /not yours/);
    }
    // Its owner's id while it is connected: 409 peer_id_taken, and the holder keeps it.
    const taken = await upgradeStatus(`${base}?token=${alice}`);
    assert.equal(taken.status, 409);
    assert.equal(taken.body.error.code, 'peer_id_taken');
    assert.match(taken.body.error.message, /held by another connection/);
    // Without a token nobody holds a peer id on the signaling endpoint.
    const anon = await upgradeStatus(`${base}?peer_id=bob`);
    assert.equal(anon.status, 401);
    assert.equal(anon.body.error.code, 'unauthorized');

    // A token-less /realtime/ws client (AUTH_ANONYMOUS) cannot signal anyone.
    const stranger = await TestWs.open(gw.wsUrl);
    open.push(stranger);
    assert.equal((await connected(stranger)).peer_id, undefined, 'no peer id without a token');
    stranger.send({ type: 'webrtc_signal', signal_type: 'offer', target_peer_id: 'alice', sdp: 'v=0 spoof', ref: 's' });
    const refused = await stranger.next((f) => f.ref === 's');
    assert.equal(refused.code, 'forbidden');

    // bob reaches alice, who sees who called: the server sets from_peer_id and from_user_id.
    const b = await TestWs.open(`${base}?token=${bob}`);
    open.push(b);
    await connected(b);
    b.send({
      type: 'webrtc_signal',
      signal_type: 'offer',
      target_peer_id: 'alice',
      sdp: 'v=0 offer',
      from_peer_id: 'alice',
      ref: 'o',
    });
    assert.equal((await b.next((f) => f.ref === 'o')).ok, true);
    const offer = await a1.next((f) => f.type === 'webrtc_signal');
    assert.equal(offer.from_peer_id, 'bob');
    assert.equal(offer.from_user_id, 'bob');
    assert.equal(offer.sdp, 'v=0 offer');

    // An unknown target: an error frame with a code.
    b.send({ type: 'webrtc_signal', signal_type: 'bye', target_peer_id: 'carol', ref: 'u' });
    assert.equal((await b.next((f) => f.ref === 'u')).code, 'peer_not_found');
    assert.equal(
      a1.frames.filter((f) => f.type === 'webrtc_signal').length,
      1,
      'alice got the one offer and nothing of the stranger',
    );
  } finally {
    for (const ws of open) ws.close();
    await gw.close();
  }
});

test('signals are bounded in size and rate; a victim is not pushed out by big signals', async () => {
  // The byte budget is off here: this is about what the signal limits refuse on their own.
  const gw = await startGateway({ webrtcSignalMaxBytes: 16 * 1024, wsRateLimitBytes: 0 });
  const base = signalingOf(gw.url);
  const victim = await TestWs.open(`${base}?peer_id=victim`);
  const attacker = await TestWs.open(`${base}?peer_id=attacker`);
  try {
    await connected(victim);
    await connected(attacker);
    // 1 MB offers (a few of them got the victim dropped as a slow consumer before): every one refused.
    const big = 'a'.repeat(1_000_000 - 200);
    for (let i = 0; i < 5; i++)
      attacker.send({
        type: 'webrtc_signal',
        signal_type: 'offer',
        target_peer_id: 'victim',
        sdp: big,
        ref: `big${i}`,
      });
    for (let i = 0; i < 5; i++) {
      const r = await attacker.next((f) => f.ref === `big${i}`);
      assert.equal(r.code, 'payload_too_large', JSON.stringify(r));
      assert.match(r.message, /sdp: \d+ bytes, over the 16384-byte limit/);
    }
    attacker.send({
      type: 'webrtc_signal',
      signal_type: 'ice_candidate',
      target_peer_id: 'victim',
      candidate: { c: 'x'.repeat(20_000) },
      ref: 'bigc',
    });
    assert.equal((await attacker.next((f) => f.ref === 'bigc')).code, 'payload_too_large');
    // A signal at the limit passes.
    attacker.send({
      type: 'webrtc_signal',
      signal_type: 'offer',
      target_peer_id: 'victim',
      sdp: 's'.repeat(16 * 1024),
      ref: 'fits',
    });
    assert.equal((await attacker.next((f) => f.ref === 'fits')).ok, true);
    await victim.next((f) => f.type === 'webrtc_signal');
    assert.deepEqual(
      victim.frames.filter((f) => f.type === 'webrtc_signal').map((f) => f.sdp.length),
      [16 * 1024],
      'only the signal within the limit',
    );
    assert.equal(victim.closeCode, null);
  } finally {
    victim.close();
    attacker.close();
    await gw.close();
  }

  // Rate: a burst of candidates past WEBRTC_SIGNAL_BURST is refused with rate_limited; the socket stays.
  const gw2 = await startGateway({ webrtcSignalRate: 10, webrtcSignalBurst: 10 });
  const base2 = signalingOf(gw2.url);
  const callee = await TestWs.open(`${base2}?peer_id=callee`);
  const caller = await TestWs.open(`${base2}?peer_id=caller`);
  try {
    await connected(callee);
    await connected(caller);
    for (let i = 0; i < 40; i++)
      caller.send({
        type: 'webrtc_signal',
        signal_type: 'ice_candidate',
        target_peer_id: 'callee',
        candidate: { i },
        ref: i,
      });
    await waitFor(() => caller.frames.filter((f) => f.ref !== undefined).length === 40, 5000, '40 answers');
    const limited = caller.frames.filter((f) => f.type === 'error' && f.code === 'rate_limited');
    const delivered = callee.frames.filter((f) => f.type === 'webrtc_signal').length;
    assert.ok(limited.length >= 25, `${limited.length} refused`);
    assert.ok(delivered >= 10 && delivered <= 15, `${delivered} delivered: the burst and a little refill`);
    assert.match(limited[0].message, /signals\/s/);
    assert.equal(caller.closeCode, null);
    assert.equal(callee.closeCode, null);
    const stats = gw2.gateway.stats() as Record<string, unknown>;
    assert.equal(stats.webrtc_signals_limited, limited.length);
  } finally {
    callee.close();
    caller.close();
    await gw2.close();
  }
});

test('/realtime/ws clients are reached by a private peer id, never by the client id channel messages show', async () => {
  const gw = await startGateway();
  const victim = await TestWs.open(`${gw.wsUrl}?user_id=victim`);
  const snoop = await TestWs.open(gw.wsUrl);
  try {
    const hello = await connected(victim);
    await connected(snoop);
    assert.match(hello.peer_id, /^[0-9a-f-]{36}$/);
    assert.notEqual(hello.peer_id, hello.client_id);
    // The victim writes to a shared channel: its client id reaches everyone there, its peer id does not.
    assert.equal((await snoop.command('join_channel', { channel: 'lobby' })).ok, true);
    victim.send({ type: 'channel_message', channel: 'lobby', message: 'hi', ref: 'm' });
    const seen = await snoop.next((f) => f.type === 'event' && f.channel === 'lobby');
    assert.equal(seen.data.client_id, hello.client_id);
    assert.ok(!JSON.stringify(snoop.frames).includes(hello.peer_id));

    snoop.send({
      type: 'webrtc_signal',
      signal_type: 'offer',
      target_peer_id: seen.data.client_id,
      sdp: 'v=0',
      ref: 'c',
    });
    assert.equal((await snoop.next((f) => f.ref === 'c')).code, 'peer_not_found');
    assert.equal(victim.frames.filter((f) => f.type === 'webrtc_signal').length, 0);

    // Given its peer id, a peer reaches it, and the answer goes back by the sender's.
    snoop.send({ type: 'webrtc_signal', signal_type: 'offer', target_peer_id: hello.peer_id, sdp: 'v=0', ref: 'p' });
    assert.equal((await snoop.next((f) => f.ref === 'p')).ok, true);
    const offer = await victim.next((f) => f.type === 'webrtc_signal');
    victim.send({
      type: 'webrtc_signal',
      signal_type: 'answer',
      target_peer_id: offer.from_peer_id,
      sdp: 'v=0 answer',
      ref: 'a',
    });
    assert.equal((await victim.next((f) => f.ref === 'a')).ok, true);
    assert.equal((await snoop.next((f) => f.type === 'webrtc_signal')).from_user_id, 'victim');

    // Auth off, the signaling endpoint is first come, first served — but never taken over.
    const base = signalingOf(gw.url);
    const first = await TestWs.open(`${base}?peer_id=desk`);
    await connected(first);
    const second = await upgradeStatus(`${base}?peer_id=desk`);
    assert.equal(second.status, 409);
    assert.equal(second.body.error.code, 'peer_id_taken');
    first.close();
  } finally {
    victim.close();
    snoop.close();
    await gw.close();
  }
});
