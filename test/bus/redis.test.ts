import { RedisBus } from '../../src/bus/redis.js';
import { RetentionPolicy } from '../../src/hub/retention.js';
import { createLogger } from '../../src/logger.js';
import { redisPrefix, serviceUrls } from '../helpers/services.js';
import { RETAINED, runBusSuite } from './bus-suite.js';

// The same contract against the real Redis (one fresh key prefix per test); what only a
// cluster has (several nodes, reconnects, epochs) is in test/cluster/.
runBusSuite('redis', async () => {
  const bus = new RedisBus(serviceUrls().redisUrl, createLogger('silent'), {
    nodeId: 'suite-node',
    prefix: redisPrefix(),
    retention: RetentionPolicy.parse(undefined, { count: RETAINED, maxAgeMs: 0 }),
  });
  await bus.start();
  return { bus, cleanup: () => bus.close() };
});
