import { ConfigError, type Config } from '../../config/config.js';
import type { Logger } from '../../logger.js';
import { createDatabase } from '../../store/index.js';
import { migrateCatalog } from './migrations/index.js';
import { describeDifference, rebuildCatalog } from './rebuild.js';

export interface RebuildArgs {
  swap: boolean;
  batchSize?: number;
}

const USAGE = 'usage: hubcast rebuild [--swap] [--batch <rows>]';

export const REBUILD_HELP = `${USAGE}\n\n  Replays the event log into a fresh table, compares it with the live products, prints\n  what differs; exit 0 only when nothing does. --swap writes the rebuilt state into the\n  live table; --batch sets the log rows read per query (default 5000).`;

/** Parse `hubcast rebuild` arguments; a `ConfigError` names a bad one. */
export function parseRebuildArgs(argv: readonly string[]): RebuildArgs {
  const args: RebuildArgs = { swap: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--swap') {
      args.swap = true;
    } else if (arg === '--batch' || arg.startsWith('--batch=')) {
      const value = arg === '--batch' ? argv[++i] : arg.slice('--batch='.length);
      const n = value !== undefined && /^\d{1,7}$/.test(value) ? Number(value) : NaN;
      if (!(n >= 1 && n <= 1_000_000))
        throw new ConfigError('--batch', `expected an integer from 1 to 1000000 (got ${JSON.stringify(value ?? '')})`);
      args.batchSize = n;
    } else {
      throw new ConfigError(arg, `unknown argument (${USAGE})`);
    }
  }
  return args;
}

export interface RebuildOutput {
  out: (line: string) => void;
  /** Progress goes here; on a terminal it rewrites one line. */
  progress: NodeJS.WriteStream | { isTTY?: boolean; write(chunk: string): unknown };
}

/**
 * `hubcast rebuild`: replay the event log into a fresh table, compare it with
 * the live products, print every difference. Resolves with the exit code: 0
 * only when nothing differs (after `--swap`: nothing differed before it either,
 * so a repaired table still exits 1 once, saying what it repaired).
 *
 * With the embedded database (no `DATABASE_URL`) the gateway must be stopped:
 * PGlite's directory belongs to one process.
 */
export async function runRebuild(
  config: Config,
  argv: readonly string[],
  logger: Logger,
  output: RebuildOutput = { out: (line) => console.log(line), progress: process.stderr },
): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    output.out(REBUILD_HELP);
    return 0;
  }
  const args = parseRebuildArgs(argv);
  // Its report is the output: the store's info lines (driver chosen, migrations) would only clutter it.
  const log = logger.child({ component: 'rebuild' }, { level: logger.isLevelEnabled('debug') ? logger.level : 'warn' });
  const db = await createDatabase(config, log);
  try {
    await migrateCatalog(db, log);
    const tty = output.progress.isTTY === true;
    let lastShown = -1;
    const report = await rebuildCatalog(db, {
      swap: args.swap,
      batchSize: args.batchSize,
      onProgress: (done, total) => {
        const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
        // A terminal gets one line rewritten in place; a log file a line per 10 %.
        if (tty) output.progress.write(`\rrebuild: ${done}/${total} log rows (${pct}%)`);
        else if (Math.floor(pct / 10) !== lastShown)
          output.progress.write(`rebuild: ${done}/${total} log rows (${pct}%)\n`);
        lastShown = Math.floor(pct / 10);
      },
    });
    if (tty) output.progress.write('\n');
    for (const problem of report.logProblems) output.out(`log: ${problem}`);
    for (const d of report.differences) output.out(describeDifference(d));
    const differing = report.differences.length + report.logProblems.length;
    output.out(
      `rebuild: ${report.products} products from ${report.events} log rows in ${report.ms} ms; ` +
        (differing === 0
          ? 'the live table matches the log'
          : `${report.differences.length} products differ, ${report.logProblems.length} log problems`) +
        (args.swap ? `; ${report.swapped} live rows replaced` : ''),
    );
    return differing === 0 ? 0 : 1;
  } finally {
    await db.close();
  }
}
