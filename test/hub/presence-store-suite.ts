import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { PresenceStore } from '../../src/hub/presence-store.js';

/** One fresh, isolated presence world per test (a new key prefix for Redis). */
export interface PresenceStoreHarness {
  store: PresenceStore;
  /** A second node's store on the same data (the same object in process). */
  peer: PresenceStore;
  cleanup(): Promise<void>;
}

const T0 = Date.now();
const LIVE = T0 + 60_000;
const entry = (id: string) => ({ id, text: JSON.stringify({ client_id: id }) });
const ids = (texts: string[]) => texts.map((t) => (JSON.parse(t) as { client_id: string }).client_id);

/**
 * What every presence store must do alike (STYLE habit 11): the in-process
 * store and Redis run these same tests, so the tracker above them behaves the
 * same on one node and in a cluster. Times are explicit `now` values.
 */
export function runPresenceStoreSuite(name: string, make: () => Promise<PresenceStoreHarness>): void {
  describe(`presence store suite: ${name}`, () => {
    let h: PresenceStoreHarness;
    beforeEach(async () => {
      h = await make();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('put answers the live count; a refresh of the same id does not count twice', async () => {
      assert.equal(await h.store.put('c', [entry('a'), entry('b')], LIVE, T0), 2);
      assert.equal(await h.peer.put('c', [entry('b'), entry('c')], LIVE + 10, T0), 3);
      assert.equal(await h.store.count('c', T0), 3);
      assert.equal(await h.store.count('other', T0), 0);
      assert.equal(await h.store.put('c', [], LIVE, T0), 3, 'an empty put only counts');
    });

    it('remove tells exactly one caller it removed the entry, and the count after', async () => {
      await h.store.put('c', [entry('a'), entry('b')], LIVE, T0);
      const [first, second] = await Promise.all([h.store.remove('c', 'a', T0), h.peer.remove('c', 'a', T0)]);
      assert.equal(Number(first.removed) + Number(second.removed), 1);
      assert.equal((first.removed ? first : second).count, 1);
      assert.deepEqual(await h.store.remove('c', 'nobody', T0), { removed: false, count: 1 });
      assert.deepEqual(await h.store.remove('empty', 'a', T0), { removed: false, count: 0 });
    });

    it('expired entries are neither counted nor paged; one sweep returns them once, across nodes', async () => {
      await h.store.put('c', [entry('live1'), entry('live2')], LIVE, T0);
      await h.peer.put('c', [entry('dead1'), entry('dead2')], T0 + 100, T0);
      assert.equal(await h.store.count('c', T0), 4);
      const later = T0 + 100; // expired at exactly expiresAt
      assert.equal(await h.store.count('c', later), 2);
      assert.deepEqual(ids((await h.store.page('c', later, null, 10)).texts), ['live1', 'live2']);
      const [a, b] = await Promise.all([h.store.sweep('c', later), h.peer.sweep('c', later)]);
      assert.deepEqual(
        ids([...a, ...b]).sort(),
        ['dead1', 'dead2'],
        'each expired entry returned by exactly one sweep',
      );
      assert.deepEqual(await h.store.sweep('c', later), []);
      assert.deepEqual(
        (await h.store.remove('c', 'dead1', later)).removed,
        false,
        'a swept entry is not removed again',
      );
    });

    it('a refresh keeps an entry past its old expiry; the sweep leaves it', async () => {
      await h.store.put('c', [entry('a')], T0 + 100, T0);
      await h.store.put('c', [entry('a')], T0 + 1000, T0 + 50);
      assert.deepEqual(await h.store.sweep('c', T0 + 500), []);
      assert.equal(await h.store.count('c', T0 + 500), 1);
    });

    it('pages every live entry once, in id order, limit at a time', async () => {
      const all = Array.from({ length: 250 }, (_, i) => `client-${String((i * 7919) % 1000).padStart(4, '0')}`);
      await h.store.put('big', all.slice(0, 120).map(entry), LIVE, T0);
      await h.peer.put('big', all.slice(120).map(entry), LIVE, T0);
      const seen: string[] = [];
      let after: string | null = null;
      let pages = 0;
      do {
        const page = await h.store.page('big', T0, after, 100);
        assert.ok(page.texts.length <= 100);
        seen.push(...ids(page.texts));
        after = page.last;
        pages++;
      } while (after !== null);
      assert.equal(pages, 3);
      assert.deepEqual(seen, [...all].sort());
      assert.deepEqual(await h.store.page('none', T0, null, 100), { texts: [], last: null });
    });

    it('paging holds while members come and go: who stays is seen exactly once', async () => {
      await h.store.put('c', ['b', 'd', 'f', 'h', 'j'].map(entry), LIVE, T0);
      const first = await h.store.page('c', T0, null, 2);
      assert.deepEqual(ids(first.texts), ['b', 'd']);
      assert.equal(first.last, 'd');
      // Churn between pages: one before the cursor joins, one after it leaves, one after it joins.
      await h.peer.put('c', [entry('a'), entry('g')], LIVE, T0);
      await h.peer.remove('c', 'f', T0);
      const rest: string[] = [];
      let after: string | null = first.last;
      while (after !== null) {
        const page = await h.store.page('c', T0, after, 2);
        rest.push(...ids(page.texts));
        after = page.last;
      }
      assert.deepEqual(rest, ['g', 'h', 'j']);
    });

    it('an expired entry inside a page is skipped without ending the walk', async () => {
      await h.store.put('c', [entry('a'), entry('c')], LIVE, T0);
      await h.store.put('c', [entry('b')], T0 + 10, T0);
      const page = await h.store.page('c', T0 + 20, null, 2);
      assert.deepEqual(ids(page.texts), ['a']);
      assert.equal(page.last, 'b');
      assert.deepEqual(ids((await h.store.page('c', T0 + 20, page.last, 2)).texts), ['c']);
    });
  });
}
