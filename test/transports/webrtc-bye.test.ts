/**
 * The other side of a WebRTC session hears `bye` when a peer's connection goes: the peers it sent
 * signals to and those it got signals from, not anyone else, and not twice after its own `bye`.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LocalSignalRelay, MAX_CONTACTS, type SignalPeer } from '../../src/transports/webrtc/relay.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { TestWs } from '../helpers/ws-client.js';

let gw: RunningGateway;
before(async () => {
  gw = await startGateway();
});
after(() => gw.close());

const OFFER = { type: 'offer', sdp: 'v=0\r\n' };

async function peer(id: string): Promise<TestWs> {
  const ws = await TestWs.open(`${gw.wsUrl.replace('/realtime/ws', '/realtime/webrtc/signaling')}?peer_id=${id}`);
  await ws.next((f) => f.type === 'connected');
  return ws;
}

async function signal(ws: TestWs, frame: Record<string, unknown>): Promise<any> {
  const ref = `r${Math.random().toString(36).slice(2)}`;
  ws.send({ type: 'webrtc_signal', ref, ...frame });
  return ws.next((f) => f.ref === ref);
}

test('a disconnect sends bye to the peers signalled and the peers that signalled it, and to nobody else', async () => {
  const [a, b, c, bystander] = await Promise.all(['bye-a', 'bye-b', 'bye-c', 'bye-x'].map(peer));
  assert.equal((await signal(a, { signal_type: 'offer', target_peer_id: 'bye-b', sdp: OFFER })).ok, true);
  assert.equal((await signal(c, { signal_type: 'offer', target_peer_id: 'bye-a', sdp: OFFER })).ok, true);
  await b.next((f) => f.signal_type === 'offer');
  await a.next((f) => f.signal_type === 'offer');
  a.close();
  assert.deepEqual(await b.next((f) => f.signal_type === 'bye'), {
    type: 'webrtc_signal',
    signal_type: 'bye',
    from_peer_id: 'bye-a',
    target_peer_id: 'bye-b',
  });
  assert.deepEqual(await c.next((f) => f.signal_type === 'bye'), {
    type: 'webrtc_signal',
    signal_type: 'bye',
    from_peer_id: 'bye-a',
    target_peer_id: 'bye-c',
  });
  // A ping round trip after the byes went out: the bystander got none.
  await bystander.command('ping');
  assert.equal(bystander.frames.filter((f) => f.type === 'webrtc_signal').length, 0);
  for (const ws of [b, c, bystander]) ws.close();
});

test('a peer that said bye itself is not told again when it disconnects', async () => {
  const [a, b] = await Promise.all(['once-a', 'once-b'].map(peer));
  assert.equal((await signal(a, { signal_type: 'offer', target_peer_id: 'once-b', sdp: OFFER })).ok, true);
  assert.equal((await signal(a, { signal_type: 'bye', target_peer_id: 'once-b' })).ok, true);
  await b.next((f) => f.signal_type === 'bye');
  a.close();
  await a.waitClosed();
  await b.command('ping');
  assert.equal(b.frames.filter((f) => f.signal_type === 'bye').length, 1);
  b.close();
});

test('the relay remembers at most MAX_CONTACTS peers per connection, the most recent', () => {
  const relay = new LocalSignalRelay();
  const sent: object[] = [];
  const me: SignalPeer = { peerId: 'me', userId: null, send: (m) => sent.push(m) };
  assert.equal(relay.add(me), true);
  for (let i = 0; i < MAX_CONTACTS + 10; i++) relay.contact('me', `p${i}`, 'offer');
  relay.contact('me', 'p0', 'ice_candidate');
  const contacts = relay.remove(me);
  assert.equal(contacts.length, MAX_CONTACTS);
  assert.equal(contacts.at(-1), 'p0', 'contacted again: most recent');
  assert.ok(!contacts.includes('p10') && contacts.includes('p11'));
});

test('a claimed id is refused to a second claim until released or its connection leaves', () => {
  const relay = new LocalSignalRelay();
  assert.equal(relay.claim('x'), true);
  assert.equal(relay.claim('x'), false);
  relay.release('x');
  assert.equal(relay.claim('x'), true);
  const x: SignalPeer = { peerId: 'x', userId: null, send: () => undefined };
  assert.equal(relay.add(x), true);
  assert.equal(relay.claim('x'), false);
  relay.remove(x);
  assert.equal(relay.claim('x'), true);
});
