import { pino, type Logger, type DestinationStream, type LevelWithSilent } from 'pino';
import { formatWithOptions } from 'node:util';

export type { Logger };

export type LogFormat = 'auto' | 'json' | 'pretty';

export interface LoggerOptions {
  /** `auto` (the default): pretty when the output is a terminal, JSON otherwise (LOG_FORMAT). */
  format?: LogFormat;
  /** Levels per `component` binding, over the base level (LOG_LEVELS), e.g. `{ ws: 'debug' }`. */
  levels?: Readonly<Record<string, LevelWithSilent>>;
  /** Where lines go; process.stdout unless given (tests). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
}

/**
 * One pino logger per process; children carry a `component` field. On a
 * terminal the lines are readable and coloured; to a file, a pipe or a
 * collector they are pino's JSON, one object per line.
 */
export function createLogger(level: string, name = 'hubcast', options: LoggerOptions = {}): Logger {
  const out = options.stream ?? process.stdout;
  const pretty = options.format === 'pretty' || ((options.format ?? 'auto') === 'auto' && out.isTTY === true);
  const levels = options.levels ?? {};
  const onChild =
    Object.keys(levels).length === 0
      ? undefined
      : (child: Logger) => {
          const component = (child.bindings() as { component?: unknown }).component;
          if (typeof component === 'string' && levels[component] !== undefined) child.level = levels[component];
        };
  const opts = { name, level, base: { pid: process.pid }, ...(onChild ? { onChild } : {}) };
  if (pretty) return pino(opts, prettyStream(out, colours(out)));
  return options.stream ? pino(opts, options.stream as DestinationStream) : pino(opts);
}

function colours(out: { isTTY?: boolean }): boolean {
  // https://no-color.org: any non-empty NO_COLOR turns colour off; FORCE_COLOR=0 too.
  if (process.env.NO_COLOR) return false;
  if (process.env.FORCE_COLOR === '0') return false;
  return out.isTTY === true || (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '');
}

const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '90'],
  20: ['DEBUG', '36'],
  30: ['INFO ', '32'],
  40: ['WARN ', '33'],
  50: ['ERROR', '31'],
  60: ['FATAL', '35'],
};
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'component', 'v']);

/**
 * pino writes each event as one JSON line; this turns it into
 * `12:00:00.123 INFO  [ws] message key=value …`, one line per event.
 * Logging is off the delivery path, so a parse per line costs nothing that matters.
 */
function prettyStream(out: NodeJS.WritableStream, colour: boolean): DestinationStream {
  const paint = (code: string, s: string) => (colour ? `\u001b[${code}m${s}\u001b[39m` : s);
  const dim = (s: string) => (colour ? `\u001b[2m${s}\u001b[22m` : s);
  return {
    write(line: string) {
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const [label, code] = LEVELS[o.level as number] ?? [String(o.level).padEnd(5), '39'];
      const time = new Date(typeof o.time === 'number' ? o.time : Date.now()).toISOString().slice(11, 23);
      let text = `${dim(time)} ${paint(code, label)}`;
      if (typeof o.component === 'string') text += ` ${paint('34', `[${o.component}]`)}`;
      if (o.msg !== undefined) text += ` ${String(o.msg)}`;
      for (const [k, v] of Object.entries(o)) {
        if (HIDDEN.has(k)) continue;
        text += ` ${dim(`${k}=`)}${field(v)}`;
      }
      out.write(`${text.replace(/\r?\n/g, '\\n')}\n`);
    },
  };
}

function field(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (v !== null && typeof v === 'object' && 'message' in v && 'type' in v) {
    // A serialized error: type and message inline (one line per event); the stack is in JSON logs.
    const e = v as { type: unknown; message: unknown; code?: unknown };
    return JSON.stringify(`${String(e.type)}${e.code !== undefined ? ` ${String(e.code)}` : ''}: ${String(e.message)}`);
  }
  return typeof v === 'object' ? JSON.stringify(v) : formatWithOptions({ colors: false }, '%s', v);
}
