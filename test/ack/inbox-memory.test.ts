import { MemoryInbox } from '../../src/ack/inbox-memory.js';
import { runInboxSuite } from './inbox-suite.js';

runInboxSuite('memory', async (options) => new MemoryInbox(options));
