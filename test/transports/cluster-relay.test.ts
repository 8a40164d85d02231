/**
 * ClusterSignalRelay over an in-memory registry and bus: what it does with ids and signals,
 * independent of Redis (test/cluster/every-node.test.ts runs it on the real thing).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../src/logger.js';
import { ClusterSignalRelay, type NodeBus, type PeerRegistry } from '../../src/transports/webrtc/cluster-relay.js';
import type { RelayedSignal, SignalPeer } from '../../src/transports/webrtc/relay.js';
import { Signaling } from '../../src/transports/webrtc/signaling.js';
import { waitFor } from '../helpers/gateway.js';

const log = createLogger('silent');

class Network {
  readonly holders = new Map<string, string>();
  readonly handlers = new Map<string, (from: string, body: string) => void>();
  sent = 0;

  bus(nodeId: string): NodeBus {
    return {
      nodeId,
      sendToNode: async (to, body) => {
        this.sent++;
        queueMicrotask(() => this.handlers.get(to)?.(nodeId, body));
      },
      onNodeMessage: (h) => void this.handlers.set(nodeId, h),
    };
  }

  registry(nodeId: string): PeerRegistry {
    return {
      ttlMs: 60_000,
      claim: async (id) => {
        const holder = this.holders.get(id);
        if (holder !== undefined && holder !== nodeId) return false;
        this.holders.set(id, nodeId);
        return true;
      },
      release: async (id) => {
        if (this.holders.get(id) === nodeId) this.holders.delete(id);
      },
      holder: async (id) => this.holders.get(id) ?? null,
      refresh: async (ids) => ids.filter((id) => this.holders.get(id) !== nodeId),
      isReady: () => true,
      close: async () => undefined,
    };
  }

  relay(nodeId: string): ClusterSignalRelay {
    return new ClusterSignalRelay(this.bus(nodeId), this.registry(nodeId), log);
  }
}

function peer(peerId: string): SignalPeer & { got: RelayedSignal[] } {
  const got: RelayedSignal[] = [];
  return { peerId, userId: null, got, send: (m) => got.push(m as RelayedSignal) };
}

const offer = (from: string, to: string): RelayedSignal => ({
  type: 'webrtc_signal',
  signal_type: 'offer',
  from_peer_id: from,
  target_peer_id: to,
  sdp: 'v=0',
});

test('ids are claimed cluster-wide and released when their connection leaves', async () => {
  const net = new Network();
  const one = net.relay('n1');
  const two = net.relay('n2');
  assert.equal(await one.claim('x'), true);
  assert.equal(await one.claim('x'), false, 'claimed here already');
  assert.equal(await two.claim('x'), false, 'claimed on another node');
  const x = peer('x');
  assert.equal(one.add(x), true);
  assert.equal(net.holders.get('x'), 'n1');
  one.remove(x);
  await waitFor(() => !net.holders.has('x'), 1000, 'released');
  assert.equal(await two.claim('x'), true);
  // A claim given back before its connection opened.
  two.release('x');
  await waitFor(() => !net.holders.has('x'), 1000, 'released');
  // A random (/realtime/ws) id is registered when added.
  const random = peer('5f1c0c1e-0000-4000-8000-000000000001');
  assert.equal(one.add(random), true);
  await waitFor(() => net.holders.get(random.peerId!) === 'n1', 1000, 'registered');
  await one.close();
  await two.close();
});

test('a signal reaches a peer on another node; none holds it → false; held here but not open → false', async () => {
  const net = new Network();
  const one = net.relay('n1');
  const two = net.relay('n2');
  const bob = peer('bob');
  assert.equal(await two.claim('bob'), true);
  two.add(bob);
  assert.equal(await one.deliver('bob', offer('alice', 'bob')), true);
  await waitFor(() => bob.got.length === 1, 1000, 'delivered on n2');
  assert.deepEqual(bob.got[0], offer('alice', 'bob'));
  assert.equal(await one.deliver('nobody', offer('alice', 'nobody')), false);
  assert.equal(await one.claim('mid-handshake'), true);
  assert.equal(await one.deliver('mid-handshake', offer('alice', 'mid-handshake')), false);
  // Local peers are served without the registry or the bus.
  const sentBefore = net.sent;
  assert.equal(two.deliver('bob', offer('carol', 'bob')), true);
  assert.equal(net.sent, sentBefore);
  await one.close();
  await two.close();
});

test('leaving sends bye to the peers it talked to on other nodes, in both directions', async () => {
  const net = new Network();
  const s1 = new Signaling(net.relay('n1'), { maxSignalBytes: 65536, rate: null });
  const s2 = new Signaling(net.relay('n2'), { maxSignalBytes: 65536, rate: null });
  const alice = { ...peer('alice'), signalRate: null };
  const bob = { ...peer('bob'), signalRate: null };
  const carol = { ...peer('carol'), signalRate: null };
  for (const [s, p] of [
    [s1, alice],
    [s2, bob],
    [s2, carol],
  ] as const) {
    assert.equal(await s.relay.claim(p.peerId!), true);
    s.relay.add(p);
  }
  assert.equal(await s1.signal(alice, { signal_type: 'offer', target_peer_id: 'bob', sdp: 'v=0' }), null);
  assert.equal(await s2.signal(carol, { signal_type: 'offer', target_peer_id: 'alice', sdp: 'v=0' }), null);
  await waitFor(() => bob.got.length === 1 && alice.got.length === 1, 1000, 'offers delivered');
  s1.leave(alice);
  await waitFor(() => bob.got.length === 2 && carol.got.length === 1, 1000, 'byes delivered');
  assert.deepEqual(bob.got[1], {
    type: 'webrtc_signal',
    signal_type: 'bye',
    from_peer_id: 'alice',
    target_peer_id: 'bob',
  });
  assert.deepEqual(carol.got[0], {
    type: 'webrtc_signal',
    signal_type: 'bye',
    from_peer_id: 'alice',
    target_peer_id: 'carol',
  });
  await waitFor(() => !net.holders.has('alice'), 1000, 'alice released');
});

test('a malformed message from another node is dropped, the relay keeps working', async () => {
  const net = new Network();
  const one = net.relay('n1');
  const bob = peer('bob');
  one.add(bob);
  for (const body of ['not json', '{}', '{"to":"bob","signal":{"type":"event"}}', 'null'])
    net.handlers.get('n1')!('n2', body);
  assert.equal(bob.got.length, 0);
  net.handlers.get('n1')!('n2', JSON.stringify({ to: 'bob', signal: offer('x', 'bob') }));
  assert.equal(bob.got.length, 1);
  await one.close();
});
