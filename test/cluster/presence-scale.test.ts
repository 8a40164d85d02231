/**
 * Presence at scale across two nodes sharing Redis: below PRESENCE_DIFF_THRESHOLD
 * every join is its own `presence.join`; from it on, each node sends one
 * `presence.diff` per interval for the channel, whoever the members are and
 * whichever node holds them; the endpoint pages the whole member list on any
 * node and always answers the full count. The single-node tracker rules:
 * test/hub/presence.test.ts; the stores: test/hub/presence-store-suite.ts.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { getJson, startGateway, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { redisPrefix, serviceUrls } from '../helpers/services.js';
import { TestWs } from '../helpers/ws-client.js';

const running: RunningGateway[] = [];
const sockets: TestWs[] = [];
after(async () => {
  for (const s of sockets) s.close();
  await Promise.all(running.map((g) => g.close()));
});

async function cluster(n: number, threshold: number, intervalMs: number): Promise<RunningGateway[]> {
  const prefix = redisPrefix();
  const nodes = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      startGateway({
        redisUrl: serviceUrls().redisUrl,
        redisPrefix: prefix,
        nodeId: `node-${i + 1}`,
        presenceChannels: ['room:*'],
        presenceDiffThreshold: threshold,
        presenceDiffIntervalMs: intervalMs,
      }),
    ),
  );
  running.push(...nodes);
  return nodes;
}

async function member(node: RunningGateway, channel: string): Promise<{ ws: TestWs; id: string }> {
  const ws = await TestWs.open(node.wsUrl);
  sockets.push(ws);
  const id = (await ws.next((f) => f.type === 'connected')).client_id;
  assert.equal((await ws.command('join_channel', { channel })).ok, true);
  return { ws, id };
}

const presenceUrl = (node: RunningGateway, channel: string, query = '') =>
  `${node.url}/realtime/channels/${encodeURIComponent(channel)}/presence${query}`;

describe('presence at scale', () => {
  it('coalesces joins and leaves into one presence.diff per node per interval above the threshold, single events below', async () => {
    const INTERVAL = 1000;
    const [n1, n2] = await cluster(2, 8, INTERVAL);
    const watcher = await member(n1, 'room:big');
    const small = [await member(n1, 'room:big'), await member(n2, 'room:big'), await member(n2, 'room:big')];
    for (const m of small) await watcher.ws.next((f) => f.event === 'presence.join' && f.data.client_id === m.id);

    // Twelve more, on both nodes, at once: the room crosses the threshold.
    const crowd = await Promise.all(Array.from({ length: 12 }, (_, i) => member(i % 2 === 0 ? n1 : n2, 'room:big')));
    const crowdIds = new Set(crowd.map((m) => m.id));
    const diffs = () => watcher.ws.events('room:big').filter((f) => f.event === 'presence.diff');
    const joinedByDiff = () => new Set(diffs().flatMap((f) => f.data.joined.map((m: any) => m.client_id)));
    await waitFor(
      () =>
        [...crowdIds].every(
          (id) =>
            joinedByDiff().has(id) ||
            watcher.ws.events('room:big').some((f) => f.event === 'presence.join' && f.data.client_id === id),
        ),
      5000,
      'every newcomer announced',
    );
    const singles = watcher.ws
      .events('room:big')
      .filter((f) => f.event === 'presence.join' && crowdIds.has(f.data.client_id));
    // Each join learns the cluster-wide count atomically with its own write: the three that
    // brought the room to 5, 6 and 7 went out alone, the nine from 8 on in diffs.
    assert.equal(singles.length, 3);
    assert.equal(joinedByDiff().size, 9);
    for (const d of diffs()) {
      assert.deepEqual(Object.keys(d.data).sort(), ['count', 'joined', 'joined_count', 'left', 'left_count']);
      assert.equal(d.data.joined.length, d.data.joined_count, 'under PRESENCE_DIFF_MAX_MEMBERS: complete lists');
      assert.ok(d.data.count >= 6 && d.data.count <= 16, `count ${d.data.count}`);
      assert.equal(typeof d.id, 'string', 'a diff is an ordinary channel event, with an id');
    }
    // One diff per node per interval at most: the nodes' diffs, bucketed by node, never closer than an interval apart.
    const byNode = new Map<string, number>();
    for (const d of diffs()) {
      const node = (d.data.joined[0] ?? d.data.left[0]).node as string;
      byNode.set(node, (byNode.get(node) ?? 0) + 1);
    }
    for (const [node, count] of byNode)
      assert.ok(count <= 3, `${node}: ${count} diffs for 12 joins within a few intervals`);

    // The full count on either node; the list paged.
    await waitFor(
      async () => (await getJson(presenceUrl(n2, 'room:big', '?limit=0'))).body.count === 16,
      3000,
      'sixteen members',
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor === null ? '?limit=5' : `?limit=5&cursor=${encodeURIComponent(cursor)}`;
      const page = (await getJson(presenceUrl(pages % 2 === 0 ? n1 : n2, 'room:big', q))).body;
      assert.equal(page.count, 16);
      assert.ok(page.members.length <= 5);
      seen.push(...page.members.map((m: any) => m.client_id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor !== null);
    assert.equal(pages, 4);
    assert.deepEqual(seen, [...seen].sort(), 'in client id order');
    assert.deepEqual(new Set(seen), new Set([watcher.id, ...small.map((m) => m.id), ...crowdIds]));

    // Ten leave at once: announced in diffs, their count falling.
    const leaving = crowd.slice(0, 10);
    for (const m of leaving) m.ws.close();
    const leftByDiff = () => new Set(diffs().flatMap((f) => f.data.left.map((m: any) => m.client_id)));
    await waitFor(() => leaving.every((m) => leftByDiff().has(m.id)), 5000, 'every leave in a diff');
    assert.equal(diffs().at(-1).data.count, 6);
    // Below the threshold once a tick has seen it: single events again.
    await new Promise((r) => setTimeout(r, INTERVAL * 2));
    const last = crowd[10];
    last.ws.close();
    const leave = await watcher.ws.next((f) => f.event === 'presence.leave' && f.data.client_id === last.id);
    assert.equal(leave.data.node, 'node-1');
  });

  it('the endpoint refuses a bad limit or cursor with 400 bad_request, and limit=0 answers the count alone', async () => {
    const [n1] = await cluster(1, 100, 1000);
    await member(n1, 'room:q');
    for (const q of ['?limit=1001', '?limit=-1', '?limit=abc', '?cursor=%21%21', '?cursor=']) {
      const res = await getJson(presenceUrl(n1, 'room:q', q));
      assert.equal(res.status, 400, q);
      assert.equal(res.body.error.code, 'bad_request', q);
    }
    assert.deepEqual((await getJson(presenceUrl(n1, 'room:q', '?limit=0'))).body, {
      channel: 'room:q',
      count: 1,
      members: [],
      next_cursor: null,
    });
    const whole = (await getJson(presenceUrl(n1, 'room:q'))).body;
    assert.equal(whole.members.length, 1);
    assert.equal(whole.next_cursor, null);
  });
});
