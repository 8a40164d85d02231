/**
 * Who is online, across nodes, when Redis fails a write: the node writes its whole count again on
 * its next heartbeat, so a disconnect whose write was lost does not leave the user counted online
 * (the inbox would keep nothing for them). A private persistent Redis, killed and restarted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RedisOnlineUsers } from '../../src/ack/online.js';
import { createLogger } from '../../src/logger.js';
import { redisPrefix, startPrivateRedis } from '../helpers/services.js';
import { waitFor } from '../helpers/gateway.js';

test('a disconnect written while Redis is down is written again once it is back: the user is not left online', async () => {
  const redis = await startPrivateRedis({ persistent: true });
  const prefix = redisPrefix();
  const log = createLogger('silent');
  const node = new RedisOnlineUsers(redis.url, prefix, log, 200);
  const other = new RedisOnlineUsers(redis.url, prefix, log, 200);
  try {
    node.connected('ann');
    await waitFor(() => other.isOnline('ann'), 5000, 'ann online as the other node sees it');

    // The count (1) and the heartbeat key are on disk; the disconnect's write fails.
    await redis.kill();
    node.disconnected('ann');
    await waitFor(() => node.behind === 1, 10_000, 'the failed write noted');

    await redis.restart();
    await waitFor(() => node.behind === 0, 10_000, 'the count written again after the restart');
    assert.equal(await other.isOnline('ann'), false, 'ann is offline for the other node');

    node.connected('bob');
    await waitFor(() => other.isOnline('bob'), 5000, 'a later user counted as usual');
  } finally {
    await node.close();
    await other.close();
    await redis.stop();
  }
});
