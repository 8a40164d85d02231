import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InboxEntry, InboxOptions, InboxStore } from '../../src/ack/inbox.js';

/** A fresh, isolated store per test (its own Redis prefix for the Redis driver). */
export type MakeInbox = (options: InboxOptions) => Promise<InboxStore>;

const entry = (id: number, publishedAt = Date.now()): InboxEntry => ({
  id,
  event: 'note',
  dataJson: JSON.stringify({ n: id }),
  text: false,
  publishedAt,
});

/** The behaviour every inbox driver shares: the memory and the Redis driver run these same tests. */
export function runInboxSuite(name: string, make: MakeInbox): void {
  describe(`inbox store contract: ${name}`, () => {
    const opts = { max: 5, ttlS: 3600 };

    it('keeps entries per user, lowest id first, whatever order they were pushed in', async () => {
      const inbox = await make(opts);
      try {
        for (const id of [12, 10, 11]) await inbox.push('alice', entry(id));
        await inbox.push('bob', entry(13));
        assert.deepEqual(
          (await inbox.list('alice')).map((e) => e.id),
          [10, 11, 12],
        );
        assert.deepEqual(
          await inbox.list('alice').then((l) => l[0]),
          entry(10, (await inbox.list('alice'))[0].publishedAt),
        );
        assert.deepEqual(
          (await inbox.list('bob')).map((e) => e.id),
          [13],
        );
        assert.deepEqual(await inbox.list('carol'), []);
      } finally {
        await inbox.close();
      }
    });

    it('an ack removes that entry and every earlier one, and only those', async () => {
      const inbox = await make(opts);
      try {
        for (const id of [1, 2, 3, 4]) await inbox.push('alice', entry(id));
        assert.equal(await inbox.ack('alice', 2), 2);
        assert.deepEqual(
          (await inbox.list('alice')).map((e) => e.id),
          [3, 4],
        );
        assert.equal(await inbox.ack('alice', 2), 0, 'acknowledged again: nothing');
        assert.equal(await inbox.ack('alice', 99), 2);
        assert.deepEqual(await inbox.list('alice'), []);
        assert.equal(await inbox.ack('nobody', 5), 0);
      } finally {
        await inbox.close();
      }
    });

    it('keeps at most max per user: the oldest go first', async () => {
      const inbox = await make(opts);
      try {
        for (let id = 1; id <= 8; id++) await inbox.push('alice', entry(id));
        assert.deepEqual(
          (await inbox.list('alice')).map((e) => e.id),
          [4, 5, 6, 7, 8],
        );
      } finally {
        await inbox.close();
      }
    });

    it('leaves out entries older than the ttl', async () => {
      const inbox = await make({ max: 10, ttlS: 60 });
      try {
        await inbox.push('alice', entry(1, Date.now() - 120_000));
        await inbox.push('alice', entry(2));
        assert.deepEqual(
          (await inbox.list('alice')).map((e) => e.id),
          [2],
        );
      } finally {
        await inbox.close();
      }
    });

    it('string data keeps its text flag; a repeated id is kept once', async () => {
      const inbox = await make(opts);
      try {
        const e: InboxEntry = { id: 7, event: 'greeting', dataJson: '"hi"', text: true, publishedAt: Date.now() };
        await inbox.push('alice', e);
        await inbox.push('alice', e);
        assert.deepEqual(await inbox.list('alice'), [e]);
        assert.equal(inbox.stats().inbox_acked, 0);
      } finally {
        await inbox.close();
      }
    });
  });
}
