import { MemoryPresenceStore } from '../../src/hub/presence-memory.js';
import { runPresenceStoreSuite } from './presence-store-suite.js';

runPresenceStoreSuite('memory', async () => {
  const store = new MemoryPresenceStore();
  return { store, peer: store, cleanup: () => store.close() };
});
