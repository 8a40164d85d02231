/** The cluster's WebRTC peer-id registry in Redis (one holder per id, a dead node's ids expire) and node messages on the bus. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createLogger } from '../../src/logger.js';
import { RedisPeerRegistry } from '../../src/bus/peer-registry-redis.js';
import { RedisBus } from '../../src/bus/redis.js';
import { RetentionPolicy } from '../../src/hub/retention.js';
import { redisPrefix, serviceUrls } from '../helpers/services.js';
import { waitFor } from '../helpers/gateway.js';

const log = createLogger('silent');

test('an id has one holder; it is freed on release, or once its holder stops refreshing (a dead node)', async () => {
  const prefix = redisPrefix();
  const { redisUrl } = serviceUrls();
  const ttlMs = 400;
  const one = new RedisPeerRegistry(redisUrl, log, { nodeId: 'node-1', prefix, ttlMs });
  const two = new RedisPeerRegistry(redisUrl, log, { nodeId: 'node-2', prefix, ttlMs });
  after(async () => {
    await one.close();
    await two.close();
  });

  // Two nodes racing for one id: exactly one wins.
  const race = await Promise.all([one.claim('p'), two.claim('p')]);
  assert.equal(race.filter(Boolean).length, 1, `one winner: ${race}`);
  const [winner, loser] = race[0] ? [one, two] : [two, one];
  const winnerNode = race[0] ? 'node-1' : 'node-2';
  assert.equal(await loser.holder('p'), winnerNode);

  await winner.release('p');
  assert.equal(await one.holder('p'), null);
  // A release by a node that does not hold it changes nothing.
  assert.equal(await two.claim('q'), true);
  await one.release('q');
  assert.equal(await one.holder('q'), 'node-2');

  // Refreshing keeps it past its TTL; a node that stops refreshing loses it within the TTL.
  const started = Date.now();
  while (Date.now() - started < ttlMs * 2) {
    assert.deepEqual(await two.refresh(['q']), []);
    await new Promise((r) => setTimeout(r, ttlMs / 4));
  }
  assert.equal(await one.holder('q'), 'node-2', 'kept alive by refreshes');
  await waitFor(async () => (await one.claim('q')) === true, ttlMs * 5, 'dead holder expired');
  // Back from a pause, the old holder learns its id is somebody else's.
  assert.deepEqual(await two.refresh(['q']), ['q']);
  // A node restarted under the same id takes its own leftover ids back at once.
  const oneAgain = new RedisPeerRegistry(redisUrl, log, { nodeId: 'node-1', prefix, ttlMs });
  after(() => oneAgain.close());
  assert.equal(await oneAgain.claim('q'), true);
});

test('the bus carries a node message to the node it names only, never back to its sender', async () => {
  const prefix = redisPrefix();
  const { redisUrl } = serviceUrls();
  const retention = RetentionPolicy.parse('', { count: 10, maxAgeMs: 0 });
  const buses = ['n1', 'n2', 'n3'].map((nodeId) => new RedisBus(redisUrl, log, { nodeId, prefix, retention }));
  after(() => Promise.all(buses.map((b) => b.close())));
  await Promise.all(buses.map((b) => b.start()));
  const got: string[][] = [[], [], []];
  for (const [i, b] of buses.entries()) b.onNodeMessage((from, body) => got[i].push(`${from}:${body}`));
  await buses[0].sendToNode('n2', 'to two\nwith a newline');
  await buses[0].sendToNode('n1', 'to myself');
  await buses[2].sendToNode('n1', 'to one');
  await waitFor(() => got[1].length === 1 && got[0].length === 1, 3000, 'messages delivered');
  // A publication after them, seen by all: anything misrouted would have arrived by then.
  const seen = buses.map(() => false);
  for (const [i, b] of buses.entries()) b.onPublication(() => (seen[i] = true));
  await buses[1].publish('sync', 'e', '1', false);
  await waitFor(() => seen.every(Boolean), 3000, 'publication everywhere');
  assert.deepEqual(got, [['n3:to one'], ['n1:to two\nwith a newline'], []]);
});
