/**
 * One behavioural suite for every chat store driver: PostgreSQL and PGlite run
 * the same SQL and must answer alike (ids, idempotency, pagination, counters).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Database } from '../../src/store/database.js';
import { SqlChatStore } from '../../src/apps/chat/sql-store.js';
import type { ChatPost } from '../../src/apps/chat/message.js';

export interface ChatStoreHarness {
  /** A fresh, empty database. */
  open(): Promise<Database>;
  /** The same database again, as a restarted process sees it (the first is closed). */
  reopen(): Promise<Database>;
  /** A second, independent connection to the same database (another node), when the driver has several. */
  openPeer?(): Promise<Database>;
  cleanup(): Promise<void>;
}

const post = (room: string, userId: string, text: string, clientMsgId: string | null = null): ChatPost => ({
  room,
  userId,
  text,
  clientMsgId,
});

export function runChatStoreSuite(name: string, makeHarness: () => Promise<ChatStoreHarness>): void {
  describe(`chat store suite: ${name}`, () => {
    let harness: ChatStoreHarness;
    let db: Database;
    let store: SqlChatStore;

    before(async () => {
      harness = await makeHarness();
      db = await harness.open();
      store = await SqlChatStore.open(db);
    });
    after(async () => {
      await db?.close();
      await harness?.cleanup();
    });

    test('a post is stored with an id that sorts as a string and as a number', async () => {
      const a = await store.post(post('lobby', 'ann', 'hello'));
      const b = await store.post(post('lobby', 'bob', 'hi <b>there</b>', 'c-1'));
      assert.equal(a.created, true);
      assert.match(a.message.id, /^[0-9]{16}$/);
      assert.ok(a.message.id < b.message.id && Number(a.message.id) < Number(b.message.id));
      assert.deepEqual(Object.keys(a.message).sort(), ['created_at', 'id', 'room', 'text', 'user_id']);
      assert.equal(b.message.client_msg_id, 'c-1');
      assert.equal(b.message.text, 'hi <b>there</b>');
      assert.ok(Math.abs(Date.parse(a.message.created_at) - Date.now()) < 60_000, a.message.created_at);
    });

    test('the same client_msg_id from the same user in the same room is stored once', async () => {
      const first = await store.post(post('idem', 'ann', 'once', 'k1'));
      const again = await store.post(post('idem', 'ann', 'twice?', 'k1'));
      assert.equal(again.created, false);
      assert.deepEqual(again.message, first.message);
      // Another user, or another room, with the same key: separate posts.
      assert.equal((await store.post(post('idem', 'bob', 'mine', 'k1'))).created, true);
      assert.equal((await store.post(post('idem2', 'ann', 'elsewhere', 'k1'))).created, true);
      const page = await store.history('idem', 50, null);
      assert.deepEqual(
        page.messages.map((m) => m.text),
        ['once', 'mine'],
      );
      const rooms = await store.rooms(100);
      assert.equal(rooms.find((r) => r.room === 'idem')?.messages, 2, 'a repeat is not counted');
    });

    test('concurrent repeats of one client_msg_id, from several connections: one row', async () => {
      const peer = harness.openPeer ? await harness.openPeer() : null;
      try {
        const other = peer === null ? store : await SqlChatStore.open(peer);
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => (i % 2 ? other : store).post(post('race', 'ann', `try ${i}`, 'same'))),
        );
        assert.equal(results.filter((r) => r.created).length, 1);
        assert.equal(new Set(results.map((r) => r.message.id)).size, 1);
        assert.equal((await store.history('race', 50, null)).messages.length, 1);
      } finally {
        await peer?.close();
      }
    });

    test('history pages go newest-first through `before`, each page oldest … newest', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) ids.push((await store.post(post('pages', 'ann', `m${i}`))).message.id);
      const p1 = await store.history('pages', 3, null);
      assert.deepEqual(
        p1.messages.map((m) => m.text),
        ['m4', 'm5', 'm6'],
      );
      assert.equal(p1.next_before, ids[4]);
      const p2 = await store.history('pages', 3, Number(p1.next_before));
      assert.deepEqual(
        p2.messages.map((m) => m.text),
        ['m1', 'm2', 'm3'],
      );
      const p3 = await store.history('pages', 3, Number(p2.next_before));
      assert.deepEqual(
        p3.messages.map((m) => m.text),
        ['m0'],
      );
      assert.equal(p3.next_before, null);
      const exact = await store.history('pages', 7, null);
      assert.equal(exact.messages.length, 7);
      assert.equal(exact.next_before, null, 'a page holding the first message has no next page');
      assert.deepEqual(await store.history('nobody-here', 10, null), { messages: [], next_before: null });
    });

    test('rooms list: message counts and the last message time, most recent first', async () => {
      await store.post(post('quiet', 'ann', 'one'));
      // Two posts in one clock tick share a timestamp, and neither is then the more recent.
      await new Promise((r) => setTimeout(r, 5));
      const last = await store.post(post('busy', 'ann', 'a'));
      const rooms = await store.rooms(100);
      assert.equal(rooms[0].room, 'busy');
      assert.equal(rooms[0].last_message_at, last.message.created_at);
      assert.equal(rooms.find((r) => r.room === 'quiet')?.messages, 1);
      assert.equal(rooms.find((r) => r.room === 'pages')?.messages, 7);
    });

    test('the database refuses what the protocol forbids, whatever code path tries', async () => {
      await assert.rejects(store.post(post('lobby', 'ann', 'x'.repeat(4001))));
      await assert.rejects(store.post(post('bad room!', 'ann', 'x')));
    });

    test('history survives a restart; migrating again changes nothing', async () => {
      const before = await store.history('pages', 200, null);
      await db.close();
      db = await harness.reopen();
      store = await SqlChatStore.open(db);
      assert.deepEqual(await store.history('pages', 200, null), before);
      const next = await store.post(post('pages', 'ann', 'after restart'));
      assert.ok(next.message.id > before.messages[before.messages.length - 1].id, 'ids keep rising');
    });
  });
}
