import { RedisInbox } from '../../src/ack/inbox-redis.js';
import { redisPrefix, serviceUrls } from '../helpers/services.js';
import { runInboxSuite } from './inbox-suite.js';

runInboxSuite('redis', async (options) => new RedisInbox(serviceUrls().redisUrl, redisPrefix(), options));
