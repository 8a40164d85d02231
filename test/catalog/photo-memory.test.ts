import { MemoryCache } from '../../src/cache/memory.js';
import { runPhotoSuite } from './photo-suite.js';

runPhotoSuite('memory cache', async () => ({ cache: new MemoryCache(), cleanup: async () => {} }));
