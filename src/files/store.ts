/** What is known of an upload, as announced in `file.uploaded` and sent with its download. */
export interface StoredFile {
  /** A UUID. */
  id: string;
  filename: string;
  content_type: string;
  size: number;
  url: string;
}

/** An upload and its bytes (at most UPLOAD_MAX_BYTES: held whole in memory, never streamed). */
export interface FileContent {
  file: StoredFile;
  bytes: Buffer;
}

/** Upload ids are UUIDs: anything else names no file (and never reaches a path or a query). */
export const FILE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Where uploads are kept, so that every node reads what any node stored:
 * PostgreSQL when DATABASE_URL is set (sql.ts), else DATA_DIR on disk
 * (disk.ts, one process). Chosen once at boot by `createFileStore`.
 */
export interface FileStore {
  readonly driver: 'disk' | 'sql';
  /** Keep `bytes` under `file.id` (a fresh UUID; storing one id twice is an error). Visible once it resolves. */
  put(file: StoredFile, bytes: Buffer): Promise<void>;
  /** The file and its bytes; null when no file has that id. */
  get(id: string): Promise<FileContent | null>;
  /** What is known of the file, without its bytes; null when none. */
  stat(id: string): Promise<StoredFile | null>;
  /** Remove it; false when there was none. */
  delete(id: string): Promise<boolean>;
}
