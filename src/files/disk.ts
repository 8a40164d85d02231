import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FILE_ID, type FileContent, type FileStore, type StoredFile } from './store.js';

/**
 * Uploads under `<DATA_DIR>/uploads` (never a served folder: files go out
 * only through the download route, as attachments): `<id>` holds the bytes,
 * `<id>.json` what is known of them. The description is written last, under
 * a temporary name then renamed, so a file is visible only when whole.
 * For one process: a cluster keeps uploads in PostgreSQL (sql.ts).
 */
export class DiskFileStore implements FileStore {
  readonly driver = 'disk';
  private readonly dir: string;
  private made: Promise<unknown> | null = null;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'uploads');
  }

  async put(file: StoredFile, bytes: Buffer): Promise<void> {
    if (!FILE_ID.test(file.id)) throw new Error(`file id ${JSON.stringify(file.id).slice(0, 60)} is not a UUID`);
    this.made ??= mkdir(this.dir, { recursive: true }).catch((err: unknown) => {
      this.made = null;
      throw err;
    });
    await this.made;
    // wx: an id is stored once; a second put of it fails rather than mixing two uploads.
    await writeFile(join(this.dir, file.id), bytes, { flag: 'wx' });
    const temp = join(this.dir, `${file.id}.json.tmp`);
    await writeFile(temp, JSON.stringify(file));
    await rename(temp, join(this.dir, `${file.id}.json`));
  }

  async get(id: string): Promise<FileContent | null> {
    const file = await this.stat(id);
    if (file === null) return null;
    const bytes = await missingAsNull(readFile(join(this.dir, id)));
    return bytes === null ? null : { file, bytes };
  }

  async stat(id: string): Promise<StoredFile | null> {
    if (!FILE_ID.test(id)) return null;
    const text = await missingAsNull(readFile(join(this.dir, `${id}.json`), 'utf8'));
    return text === null ? null : (JSON.parse(text) as StoredFile);
  }

  async delete(id: string): Promise<boolean> {
    if (!FILE_ID.test(id)) return false;
    const had = (await this.stat(id)) !== null;
    // Description first: the file stops being visible before its bytes go.
    await rm(join(this.dir, `${id}.json`), { force: true });
    await rm(join(this.dir, id), { force: true });
    return had;
  }
}

async function missingAsNull<T>(read: Promise<T>): Promise<T | null> {
  try {
    return await read;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
