import type { Logger } from '../logger.js';
import type { Database } from '../store/database.js';
import { migrate } from '../store/migrate.js';
import { FILE_MIGRATIONS_TABLE, fileMigrations } from './migrations.js';
import { FILE_ID, type FileContent, type FileStore, type StoredFile } from './store.js';

interface Row {
  id: string;
  filename: string;
  content_type: string;
  size: number;
  bytes?: Buffer;
}

const INSERT = 'INSERT INTO uploaded_files (id, filename, content_type, size, bytes) VALUES ($1, $2, $3, $4, $5)';
const GET = 'SELECT id, filename, content_type, size, bytes FROM uploaded_files WHERE id = $1';
const STAT = 'SELECT id, filename, content_type, size FROM uploaded_files WHERE id = $1';
const DELETE = 'DELETE FROM uploaded_files WHERE id = $1 RETURNING id';

/**
 * Uploads in PostgreSQL (or PGlite: the same SQL), one `uploaded_files` row
 * each. The database is the gateway's one, opened and migrated on the first
 * use (every node may race there: migrate locks), so a gateway that never
 * stores a file never waits for it; a failed open is retried on the next use.
 */
export class SqlFileStore implements FileStore {
  readonly driver = 'sql';
  private readonly open: () => Promise<Database>;
  private readonly log: Logger | undefined;
  private db: Promise<Database> | null = null;

  constructor(open: () => Promise<Database>, log?: Logger) {
    this.open = open;
    this.log = log;
  }

  async put(file: StoredFile, bytes: Buffer): Promise<void> {
    const db = await this.ready();
    await db.query(INSERT, [file.id, file.filename, file.content_type, file.size, bytes]);
  }

  async get(id: string): Promise<FileContent | null> {
    if (!FILE_ID.test(id)) return null;
    const [row] = await (await this.ready()).query<Row>(GET, [id]);
    return row === undefined ? null : { file: toFile(row), bytes: row.bytes! };
  }

  async stat(id: string): Promise<StoredFile | null> {
    if (!FILE_ID.test(id)) return null;
    const [row] = await (await this.ready()).query<Row>(STAT, [id]);
    return row === undefined ? null : toFile(row);
  }

  async delete(id: string): Promise<boolean> {
    if (!FILE_ID.test(id)) return false;
    return (await (await this.ready()).query(DELETE, [id])).length > 0;
  }

  private ready(): Promise<Database> {
    this.db ??= (async () => {
      const db = await this.open();
      await migrate(db, this.log, fileMigrations, FILE_MIGRATIONS_TABLE);
      return db;
    })().catch((err: unknown) => {
      this.db = null;
      throw err;
    });
    return this.db;
  }
}

function toFile(row: Row): StoredFile {
  return {
    id: row.id,
    filename: row.filename,
    content_type: row.content_type,
    size: row.size,
    url: `/realtime/binary/files/${row.id}`,
  };
}
