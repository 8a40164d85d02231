import { RedisPresenceStore } from '../../src/bus/presence-redis.js';
import { createLogger } from '../../src/logger.js';
import { redisPrefix, serviceUrls } from '../helpers/services.js';
import { runPresenceStoreSuite } from './presence-store-suite.js';

// Two connections on one prefix: two nodes of a cluster sharing presence.
runPresenceStoreSuite('redis', async () => {
  const prefix = redisPrefix();
  const log = createLogger('silent');
  const store = new RedisPresenceStore(serviceUrls().redisUrl, prefix, 60_000, log);
  const peer = new RedisPresenceStore(serviceUrls().redisUrl, prefix, 60_000, log);
  return { store, peer, cleanup: async () => void (await Promise.all([store.close(), peer.close()])) };
});
