import { pino, type Logger } from 'pino';

export type { Logger };

/** One pino logger per process; children carry a `component` field. */
export function createLogger(level: string, name = 'hubcast'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}
