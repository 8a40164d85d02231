import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** A database of the bench's own, made for one run and dropped after it. */
export interface ScratchDatabase {
  /** The config fields `createDatabase` reads. */
  config: { databaseUrl?: string; dataDir: string };
  drop(): Promise<void>;
}

/** Creates database `name` on the PostgreSQL server of `adminUrl` (connecting as that URL says). */
export async function createPostgresDatabase(adminUrl: string, name: string): Promise<ScratchDatabase> {
  const run = async (sql: string) => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await run(`CREATE DATABASE "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    config: { databaseUrl: url.toString(), dataDir: 'unused' },
    drop: () => run(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

/**
 * `--driver postgres`: database `name` beside HUBCAST_TEST_DATABASE_URL's;
 * otherwise (pglite) a temp directory named after `name`.
 */
export async function createScratchDatabase(driver: string, name: string): Promise<ScratchDatabase> {
  if (driver === 'postgres') {
    const admin = process.env.HUBCAST_TEST_DATABASE_URL;
    if (!admin) throw new Error('HUBCAST_TEST_DATABASE_URL unset: eval "$(bash scripts/services.sh env)"');
    return createPostgresDatabase(admin, name);
  }
  const dir = mkdtempSync(join(tmpdir(), `${name.replaceAll('_', '-')}-`));
  return { config: { dataDir: dir }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}
