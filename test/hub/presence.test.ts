/**
 * The presence tracker on the in-process store, no services: single events
 * below the threshold, one coalesced `presence.diff` per interval from it on,
 * back to single events once a tick finds the room small again; counts and
 * cursors. The same tracker on Redis across nodes: test/cluster/presence-scale.test.ts.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { createLogger } from '../../src/logger.js';
import { MemoryPresenceStore } from '../../src/hub/presence-memory.js';
import { decodeCursor, encodeCursor, Presence, type PresenceMember } from '../../src/hub/presence.js';
import type { PresenceDiffData } from '../../src/hub/presence-diff.js';
import type { Subscriber } from '../../src/hub/subscriber.js';

interface Sent {
  event: string;
  data: any;
}

const sub = (id: string) => ({ clientId: id, userId: `u-${id}` }) as unknown as Subscriber;
let open: Presence[] = [];
afterEach(async () => {
  await Promise.all(open.map((p) => p.close()));
  open = [];
});

function tracker(
  diffThreshold: number,
  diffIntervalMs = 60_000,
  diffMaxMembers = 50,
): { presence: Presence; sent: Sent[]; waitFor: (pred: (s: Sent[]) => boolean) => Promise<void> } {
  const sent: Sent[] = [];
  const presence = new Presence(new MemoryPresenceStore(), {
    patterns: ['room:*'],
    nodeId: 'n1',
    ttlMs: 60_000,
    diffThreshold,
    diffIntervalMs,
    diffMaxMembers,
    publish: async (_channel, event, data) => void sent.push({ event, data }),
    logger: createLogger('silent'),
  });
  open.push(presence);
  const waitFor = async (pred: (s: Sent[]) => boolean) => {
    const deadline = Date.now() + 3000;
    while (!pred(sent)) {
      assert.ok(Date.now() < deadline, `condition not met; sent: ${JSON.stringify(sent.map((s) => s.event))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return { presence, sent, waitFor };
}

/** Lets the store's promises settle (the memory store answers within microtasks and a turn). */
const settle = () => new Promise((r) => setImmediate(r));

describe('presence tracker', () => {
  it('below the threshold every join and leave is its own event, in order', async () => {
    const { presence, sent } = tracker(10);
    presence.joined(sub('a'), 'room:1');
    presence.joined(sub('b'), 'room:1');
    presence.left(sub('a'), 'room:1');
    presence.joined(sub('x'), 'other'); // not a presence channel
    await settle();
    assert.deepEqual(
      sent.map((s) => `${s.event} ${s.data.client_id}`),
      ['presence.join a', 'presence.join b', 'presence.leave a'],
    );
    assert.equal(await presence.count('room:1'), 1);
  });

  it('from the threshold on, changes wait for the tick and go out as one presence.diff with the count', async () => {
    const { presence, sent, waitFor } = tracker(3, 100);
    for (const id of ['a', 'b']) presence.joined(sub(id), 'room:1');
    await settle();
    for (const id of ['c', 'd', 'e', 'f']) presence.joined(sub(id), 'room:1');
    // Joined and left within one interval: nobody is told of it.
    presence.joined(sub('brief'), 'room:1');
    presence.left(sub('brief'), 'room:1');
    // Present before, left and came back: in both lists, left applies first.
    presence.left(sub('a'), 'room:1');
    presence.joined(sub('a'), 'room:1');
    await waitFor((s) => s.length === 3);
    assert.deepEqual(
      sent.map((s) => s.event),
      ['presence.join', 'presence.join', 'presence.diff'],
      'from the threshold on, nothing on its own',
    );
    const diff = sent[2];
    assert.equal(diff.event, 'presence.diff');
    const data = diff.data as PresenceDiffData;
    assert.deepEqual(data.joined.map((m) => m.client_id).sort(), ['a', 'c', 'd', 'e', 'f']);
    assert.deepEqual(
      data.left.map((m) => m.client_id),
      ['a'],
    );
    assert.equal(data.count, 6);
    assert.equal(data.joined_count, 5);
    assert.equal(data.left_count, 1);
    assert.equal(data.joined[0].node, 'n1');
    // The next tick with nothing new sends nothing.
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(sent.length, 3);
  });

  it('a tick that finds the room below the threshold sends what waits, then single events again', async () => {
    const { presence, sent, waitFor } = tracker(3, 100);
    for (const id of ['a', 'b', 'c']) presence.joined(sub(id), 'room:1');
    await waitFor((s) => s.some((x) => x.event === 'presence.diff'));
    assert.deepEqual(
      sent.map((s) => `${s.event} ${s.data.client_id ?? s.data.joined.map((m: PresenceMember) => m.client_id)}`),
      ['presence.join a', 'presence.join b', 'presence.diff c'],
    );
    presence.left(sub('b'), 'room:1');
    presence.left(sub('c'), 'room:1');
    await waitFor((s) => s.filter((x) => x.event === 'presence.diff').length === 2);
    const diff = sent.at(-1)!.data as PresenceDiffData;
    assert.deepEqual(diff.left.map((m) => m.client_id).sort(), ['b', 'c']);
    assert.equal(diff.count, 1);
    presence.joined(sub('d'), 'room:1');
    await waitFor((s) => s.at(-1)?.event === 'presence.join' && s.at(-1)?.data.client_id === 'd');
  });

  it('a diff lists at most diffMaxMembers per list; its counts stay exact', async () => {
    const { presence, sent, waitFor } = tracker(1, 100, 3);
    for (let i = 0; i < 10; i++) presence.joined(sub(`m${i}`), 'room:1');
    await waitFor((s) => s.length === 1);
    const data = sent[0].data as PresenceDiffData;
    assert.deepEqual(
      data.joined.map((m) => m.client_id),
      ['m0', 'm1', 'm2'],
      'the first to come',
    );
    assert.deepEqual([data.joined_count, data.left_count, data.count, data.left.length], [10, 0, 10, 0]);
  });

  it('close sends the diff that waits', async () => {
    const { presence, sent } = tracker(1);
    presence.joined(sub('a'), 'room:1');
    await settle();
    assert.equal(sent.length, 0);
    await presence.close();
    open = [];
    assert.deepEqual(
      sent.map((s) => s.event),
      ['presence.diff'],
    );
    assert.deepEqual(
      sent[0].data.joined.map((m: PresenceMember) => m.client_id),
      ['a'],
    );
  });

  it('pages members in client id order behind an opaque cursor; limit 0 is the count alone', async () => {
    const { presence } = tracker(1000);
    const ids = Array.from({ length: 25 }, (_, i) => `c${String(24 - i).padStart(2, '0')}`);
    for (const id of ids) presence.joined(sub(id), 'room:1');
    await settle();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<Presence['page']>> = await presence.page('room:1', cursor, 10);
      assert.equal(page.count, 25);
      seen.push(...page.members.map((m) => m.client_id));
      cursor = page.next_cursor;
    } while (cursor !== null);
    assert.deepEqual(seen, [...ids].sort());
    assert.deepEqual(await presence.page('room:1', null, 0), { count: 25, members: [], next_cursor: null });
    await assert.rejects(presence.page('room:1', 'not a cursor', 10), RangeError);
  });

  it('cursors decode only what encodeCursor made', () => {
    assert.equal(decodeCursor(encodeCursor('client-7')), 'client-7');
    for (const bad of ['', '!!', 'a b', 'x'.repeat(401), 'Y']) assert.equal(decodeCursor(bad), null, bad);
  });
});
