/** One behavioural suite for every cache driver (memory, Redis). */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Cache } from '../../src/cache/cache.js';

export interface CacheHarness {
  cache: Cache;
  /**
   * Let `ms` pass for TTL purposes. The memory driver moves its injected
   * clock; Redis really waits, so its TTL test polls until the key is gone.
   */
  elapse(ms: number): Promise<void>;
  cleanup(): Promise<void>;
}

/** Poll `check` until it is true or `timeoutMs` passes (a condition, not a fixed sleep). */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

export function runCacheSuite(name: string, make: () => Promise<CacheHarness>): void {
  describe(`cache suite: ${name}`, () => {
    let h: CacheHarness;
    before(async () => {
      h = await make();
    });
    after(async () => {
      await h?.cache.close();
      await h?.cleanup();
    });

    test('is ready', () => {
      assert.equal(h.cache.isReady(), true);
    });

    test('a missing key is null', async () => {
      assert.equal(await h.cache.get('nope'), null);
    });

    test('binary round trip keeps every byte value, including 0x00 and 0xff', async () => {
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const value = Buffer.concat([
        Buffer.from([0x00, 0xff, 0x00]),
        all,
        randomBytes(50_000),
        Buffer.from([0xff, 0x00]),
      ]);
      await h.cache.set('bin', value, 60);
      const got = await h.cache.get('bin');
      assert.ok(Buffer.isBuffer(got));
      assert.equal(got.length, value.length);
      assert.ok(got.equals(value));
    });

    test('invalid UTF-8 sequences survive (no string conversion anywhere)', async () => {
      const value = Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc, 0xfe, 0xfe]);
      await h.cache.set('utf8', value, 60);
      assert.ok((await h.cache.get('utf8'))!.equals(value));
    });

    test('an empty value is a hit, not a miss', async () => {
      await h.cache.set('empty', Buffer.alloc(0), 60);
      const got = await h.cache.get('empty');
      assert.ok(got !== null);
      assert.equal(got.length, 0);
    });

    test('set overwrites', async () => {
      await h.cache.set('k', Buffer.from('one'), 60);
      await h.cache.set('k', Buffer.from('two'), 60);
      assert.equal((await h.cache.get('k'))!.toString(), 'two');
    });

    test('entries expire after their TTL', async () => {
      await h.cache.set('short', Buffer.from('x'), 1);
      await h.cache.set('long', Buffer.from('y'), 60);
      assert.ok(await h.cache.get('short'));
      await h.elapse(1100);
      assert.ok(await waitFor(async () => (await h.cache.get('short')) === null, 3000), 'short-lived key expired');
      assert.equal((await h.cache.get('long'))!.toString(), 'y');
    });
  });
}
