/**
 * PGlite's own start parameters plus smaller memory settings. PGlite runs one
 * backend in one WASM memory that never shrinks: PostgreSQL's server defaults
 * (128 MB shared_buffers, 4 MB work_mem per sort, 64 MB maintenance_work_mem)
 * size a shared server, not an embedded store of a few thousand rows, and
 * cost ~150 MB of resident memory for nothing here (bench:footprint).
 * shared_buffers is 1 MB: the data directory is a Node file mount, so a page
 * not in PostgreSQL's buffers is a read from the OS page cache, and 16 MB held
 * ~17 MB more resident with no faster queries (docs/operations.md#footprint).
 */
export const PGLITE_START_PARAMS: string[] = [
  // PGlite's defaults (PGlite.defaultStartParams in 0.5): single user, no fsync per commit, no workers.
  '--single',
  '-F',
  '-O',
  '-j',
  '-c',
  'search_path=public',
  '-c',
  'exit_on_error=false',
  '-c',
  'log_checkpoints=false',
  '-c',
  'max_worker_processes=0',
  '-c',
  'max_parallel_workers=0',
  '-c',
  'max_parallel_workers_per_gather=0',
  '-c',
  'io_method=sync',
  '-c',
  'max_parallel_maintenance_workers=0',
  // Ours: memory for an embedded store.
  '-c',
  'shared_buffers=1MB',
  // One backend ever runs; shared memory is sized for max_connections of them
  // (lock table, process slots): 8 MB at the default 100, 5 MB with these two.
  '-c',
  'max_connections=5',
  '-c',
  'wal_buffers=256kB',
  '-c',
  'work_mem=2MB',
  '-c',
  'maintenance_work_mem=16MB',
  '-c',
  'temp_buffers=2MB',
];
