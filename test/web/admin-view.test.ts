/** The admin report's pieces that need no server: the one-pass top-k and the cluster-wide sums. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { topK, type NodeReport } from '../../src/web/admin/report.js';
import { clusterView } from '../../src/web/admin/view.js';

test('topK keeps the k biggest, biggest first, in one pass, and counts all', () => {
  const all = [5, 1, 9, 3, 9, 7, 2, 8];
  assert.deepEqual(
    topK(all, 3, (n) => n),
    { items: [9, 9, 8], total: 8 },
  );
  assert.deepEqual(topK(all, 20, (n) => n).items, [9, 9, 8, 7, 5, 3, 2, 1]);
  assert.deepEqual(
    topK(all, 0, (n) => n),
    { items: [], total: 8 },
  );
  assert.deepEqual(
    topK([], 3, (n: number) => n),
    { items: [], total: 0 },
  );
  // Against a sort, over many random inputs.
  for (let run = 0; run < 200; run++) {
    const list = Array.from({ length: Math.floor(Math.random() * 50) }, () => Math.floor(Math.random() * 20));
    const k = Math.floor(Math.random() * 10);
    assert.deepEqual(topK(list, k, (n) => n).items, [...list].sort((x, y) => y - x).slice(0, k));
  }
});

function report(node: string, channels: Array<[string, number]>): NodeReport {
  return {
    node_id: node,
    uptime_seconds: 1,
    started_at: new Date(0).toISOString(),
    connections: { websocket: 0, sse: 0, tcp: 0, long_poll: 0, total: 0 },
    memory: { rss_bytes: 0, heap_used_bytes: 0, heap_total_bytes: 0 },
    channels: channels.length,
    top_channels: channels,
    slowest: [],
    publications: 0,
    messages_out: 0,
  };
}

test('the cluster view sums each channel over the nodes, lists nodes by id and says who did not answer', () => {
  const replies = new Map<string, NodeReport>([
    [
      'n2',
      report('n2', [
        ['a', 5],
        ['b', 1],
      ]),
    ],
    [
      'n1',
      report('n1', [
        ['b', 7],
        ['a', 2],
        ['c', 3],
      ]),
    ],
  ]);
  const view = clusterView(
    'n1',
    { nodes: ['n1', 'n2', 'n3', 'n4'], replies, errors: new Map([['n4', 'boom']]), missing: ['n3'] },
    2,
  );
  assert.deepEqual(view.channels, [
    { channel: 'b', subscribers: 8, nodes: 2 },
    { channel: 'a', subscribers: 7, nodes: 2 },
  ]);
  assert.deepEqual(
    view.nodes.map((n) => n.node_id),
    ['n1', 'n2'],
  );
  assert.ok(
    view.nodes.every((n) => !('top_channels' in n)),
    'the per-node channel lists stay inside',
  );
  assert.deepEqual(
    [view.node, view.nodes_asked, view.nodes_answered, view.missing, view.errors],
    ['n1', 4, 2, ['n3'], { n4: 'boom' }],
  );
});
