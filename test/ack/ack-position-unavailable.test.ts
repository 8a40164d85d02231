/**
 * An acknowledged join with `since` needs the user's stored position: while Redis cannot answer,
 * the join is refused `unavailable` (not replayed from `since` alone, which could skip events the
 * client was sent but never acknowledged), and the connection stays; once Redis is back the same
 * join works. A private Redis, so stopping it disturbs no other test.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startGateway } from '../helpers/gateway.js';
import { redisPrefix, startPrivateRedis } from '../helpers/services.js';
import { TestWs } from '../helpers/ws-client.js';
import { SECRET, sign } from '../auth/tokens.js';

test('ack: true with since while the acknowledged position cannot be read: unavailable, the connection kept; works again after', async () => {
  const redis = await startPrivateRedis();
  const gw = await startGateway({ jwtSecret: SECRET, redisUrl: redis.url, redisPrefix: redisPrefix() });
  const ws = await TestWs.open(`${gw.wsUrl}?token=${await sign('una', { channels: ['ack:*'] })}`);
  try {
    await ws.next((f) => f.type === 'connected');
    await redis.kill();
    const refused = await ws.command('join_channel', { channel: 'ack:down', since: '1', ack: true });
    assert.equal(refused.type, 'error');
    assert.equal(refused.code, 'unavailable');
    assert.match(refused.message, /acknowledged position/);

    await redis.restart();
    let joined: any;
    for (let i = 0; i < 50; i++) {
      joined = await ws.command('join_channel', { channel: 'ack:down', since: '1', ack: true });
      if (joined.type === 'reply') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(joined.type, 'reply', JSON.stringify(joined));
    assert.equal(joined.data.ack, true);
  } finally {
    ws.close();
    await gw.close();
    await redis.stop();
  }
});
