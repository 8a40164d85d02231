/** A seeded catalog on embedded PGlite in a temp dir, behind a real Fastify app. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { Cache } from '../../src/cache/cache.js';
import { PhotoService, type PhotoServiceOptions } from '../../src/apps/catalog/photo-service.js';
import { CatalogRepository, type Photo } from '../../src/apps/catalog/repository.js';
import { seedCatalog } from '../../src/apps/catalog/seed.js';
import type { Database } from '../../src/store/database.js';
import { createDatabase } from '../../src/store/index.js';
import { migrateCatalog } from '../../src/apps/catalog/migrations/index.js';
import { catalogRoutes } from '../../src/apps/catalog/routes.js';

export const silent = pino({ level: 'silent' });

/** The real repository, counting the reads that move photo bytes (the expensive ones). */
export class CountingRepository extends CatalogRepository {
  photoReads = 0;
  override async getPhoto(id: number): Promise<Photo | null> {
    this.photoReads++;
    return super.getPhoto(id);
  }
}

export interface SeededDb {
  db: Database;
  close(): Promise<void>;
}

export async function seededPglite(): Promise<SeededDb> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hubcast-catalog-'));
  const db = await createDatabase({ dataDir }, silent);
  await migrateCatalog(db);
  await seedCatalog(db);
  return {
    db,
    close: async () => {
      await db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface CatalogApp {
  app: FastifyInstance;
  repository: CountingRepository;
  photos: PhotoService;
}

export async function catalogApp(db: Database, cache: Cache, options?: PhotoServiceOptions): Promise<CatalogApp> {
  const repository = new CountingRepository(db);
  const photos = new PhotoService({ repository, cache, logger: silent }, options);
  const app = Fastify({ logger: false });
  await app.register(catalogRoutes, { repository, photos });
  await app.ready();
  return { app, repository, photos };
}
