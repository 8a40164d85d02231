#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { config as loadDotenv } from 'dotenv';
import { loadConfig, ConfigError, type Config } from './config/config.js';
import { createLogger, type Logger } from './logger.js';
import { ErrorCode } from './codes.js';
import { createGateway, type Gateway } from './server.js';

const USAGE = `usage: hubcast <command> [options]

  start       gateway + event generator in one process, embedded defaults (npm start)
  gateway     the gateway only (distributed mode)
  generator   the event generator only; --rate <events/s> for load
  token       print a development token signed with JWT_SECRET (--sub, --channels, --ttl)
  rebuild     replay the event log into a fresh table and compare it with the live products

hubcast <command> --help describes one command; hubcast --version prints the version. Configuration is read from the environment
and .env (see README). Stop with Ctrl-C or SIGTERM: the graceful stop keeps history.`;

const COMMAND_HELP: Record<string, string> = {
  start: `usage: hubcast start

  The whole system in one process: the gateway and the event generator, with PGlite under DATA_DIR,
  the in-process broker and cache unless DATABASE_URL / BROKER_URL / REDIS_URL are set.
  Ctrl-C or SIGTERM stops it gracefully (clients are told, history is kept); a second signal exits at once.`,
  gateway: `usage: hubcast gateway

  The gateway alone: consumes the broker, serves HTTP, WebSocket and SSE on HOST:PORT.
  Ctrl-C or SIGTERM stops it gracefully; a second signal exits at once.`,
  generator: `usage: hubcast generator [--rate <events per second>]

  The event generator alone: publishes product changes to RabbitMQ (BROKER_URL is required),
  one per GENERATOR_INTERVAL_MS, or --rate per second.`,
};

async function main(argv: string[]): Promise<void> {
  loadDotenv({ quiet: true });
  const command = argv[0];
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    process.exit(command === undefined ? 1 : 0);
  }
  if (command === '--version' || command === '-v' || command === 'version') {
    console.log(version());
    process.exit(0);
  }
  if (command.startsWith('-')) fail(`unknown option ${JSON.stringify(command)} (see hubcast --help)`);
  const rest = argv.slice(1);
  if (rest.includes('--help') || rest.includes('-h')) {
    if (command === 'token') {
      const { TOKEN_USAGE } = await import('./auth/sign-token.js');
      console.log(TOKEN_USAGE);
      process.exit(0);
    }
    if (command === 'rebuild') {
      const { REBUILD_HELP } = await import('./apps/catalog/rebuild-cli.js');
      console.log(REBUILD_HELP);
      process.exit(0);
    }
    const help = COMMAND_HELP[command];
    console.log(help ?? USAGE);
    process.exit(help === undefined ? 2 : 0);
  }
  let config: Config;
  try {
    config = loadConfig();
    if (command === 'token') return await printToken(config, rest);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`hubcast: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel, 'hubcast', { format: config.logFormat, levels: config.logLevels });
  switch (command) {
    case 'start':
    case 'gateway': {
      if (rest.length > 0) fail(`unknown argument ${JSON.stringify(rest[0])} (see hubcast ${command} --help)`);
      // Hold the port while the data directory is opened and the catalog starts: a second
      // start fails here with EADDRINUSE, before it touches DATA_DIR or publishes anything.
      const hold = await holdPort(config);
      const { catalogApp } = await import('./apps/catalog/app.js');
      const { chatApp } = await import('./apps/chat/app.js');
      let gateway: Gateway;
      try {
        gateway = await createGateway(config, {
          logger: log,
          apps: [catalogApp({ withGenerator: command === 'start' }), chatApp()],
        });
      } finally {
        await release(hold);
      }
      const address = await gateway.listen();
      const url = `http://${urlHost(config.host)}:${address.port}`;
      // The message stays fixed (scripts wait for it); the fields say how this process runs.
      log.info(
        { mode: command, url, ...describeMode(config), summary: summary(config, url) },
        'hubcast gateway listening',
      );
      onShutdown(log, () => gateway.close(), config.shutdownTimeoutMs);
      return;
    }
    case 'generator': {
      const { runGenerator } = await import('./apps/catalog/generator-cli.js');
      const stop = await runGenerator(config, rest, log);
      onShutdown(log, stop, config.shutdownTimeoutMs);
      return;
    }
    case 'rebuild':
      return void process.exit(
        await (await import('./apps/catalog/rebuild-cli.js')).runRebuild(config, argv.slice(1), log),
      );
    default:
      console.error(`hubcast: unknown command ${JSON.stringify(command)}${suggest(command)}\n\n${USAGE}`);
      process.exit(2);
  }
}

const COMMANDS = ['start', 'gateway', 'generator', 'token', 'rebuild'];

/** `; did you mean "gateway"?` for a command one edit or a prefix away. */
function suggest(command: string): string {
  const near = COMMANDS.find(
    (c) =>
      c.startsWith(command.toLowerCase()) ||
      (Math.abs(c.length - command.length) <= 1 && distance(c, command.toLowerCase()) <= 1),
  );
  return near === undefined ? '' : `; did you mean ${JSON.stringify(near)}?`;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = row[j];
      row[j] = next;
    }
  }
  return row[b.length];
}

/** The package version, read from package.json beside dist/ (and src/). */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

function fail(message: string): never {
  console.error(`hubcast: ${message}`);
  process.exit(2);
}

async function printToken(config: Config, argv: string[]): Promise<void> {
  const { parseTokenArgs, signDevToken } = await import('./auth/sign-token.js');
  const args = parseTokenArgs(argv);
  if (config.jwtSecret === undefined) {
    throw new ConfigError(
      'JWT_SECRET',
      "not set: put the gateway's secret (32+ bytes, e.g. `openssl rand -hex 32`) in the environment or .env",
    );
  }
  console.log(await signDevToken(config.jwtSecret, args));
}

const STARTING_BODY = JSON.stringify({
  error: { code: ErrorCode.notReady, message: 'hubcast is starting; retry shortly' },
});
const STARTING_RESPONSE =
  'HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n' +
  `Content-Length: ${Buffer.byteLength(STARTING_BODY)}\r\n\r\n${STARTING_BODY}`;

/** Bind HOST:PORT exclusively (port 0 picks any: nothing to hold). */
function holdPort(config: Config): Promise<Server | null> {
  if (config.port === 0) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    // Whoever connects meanwhile gets an answer, not a socket that hangs until init ends.
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.end(STARTING_RESPONSE);
      held.add(socket);
      socket.once('close', () => held.delete(socket));
    });
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(
              `listen EADDRINUSE: ${config.host}:${config.port} is in use (another hubcast? stop it, or set PORT)`,
            )
          : err,
      );
    });
    server.listen({ host: config.host, port: config.port, exclusive: true }, () => resolve(server));
  });
}

/** Connections the holding server answered: a peer that never closes its side must not keep the port. */
const held = new Set<Socket>();

function release(server: Server | null): Promise<void> {
  return new Promise((resolve) => {
    if (server === null) return resolve();
    server.close(() => resolve());
    for (const socket of held) socket.destroy();
  });
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** A URL with its password hidden, for logs. */
function redact(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** What this process runs on, as log fields. */
function describeMode(config: Config): Record<string, string> {
  const auth =
    config.jwtSecret || config.jwtPublicKey || config.jwtJwks
      ? `on${config.authAnonymous ? ' (anonymous readers allowed)' : ''}`
      : 'off';
  return {
    auth,
    api_key: config.apiKey ? 'required' : 'off (server API open on loopback)',
    bus: config.redisUrl ? `redis ${redact(config.redisUrl)} (node ${config.nodeId})` : 'in-process (single node)',
    broker: config.brokerUrl ? `rabbitmq ${redact(config.brokerUrl)}` : 'in-process',
    database: config.databaseUrl ? `postgres ${redact(config.databaseUrl)}` : `pglite ${config.dataDir}`,
  };
}

function summary(config: Config, url: string): string {
  const m = describeMode(config);
  const ws = url.replace(/^http/, 'ws');
  return `auth ${m.auth}, api key ${m.api_key}, bus ${m.bus}, broker ${m.broker}, database ${m.database}; dashboard ${url}/, SSE ${url}/realtime/events, WS ${ws}/realtime/ws, metrics ${url}/metrics`;
}

/** SIGTERM/SIGINT: graceful stop, bounded by `budgetMs` (SHUTDOWN_TIMEOUT_MS); a second signal exits at once. */
function onShutdown(log: Logger, stop: () => Promise<void>, budgetMs: number): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    log.info({ signal }, 'shutting down');
    const started = Date.now();
    setTimeout(() => {
      log.error({ budget_ms: budgetMs }, `shutdown took longer than SHUTDOWN_TIMEOUT_MS (${budgetMs} ms); exiting`);
      process.exit(1);
    }, budgetMs).unref();
    stop().then(
      () => {
        log.info({ ms: Date.now() - started }, 'shutdown complete');
        process.exit(0);
      },
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  followLauncher(handler);
}

/**
 * Under npm (`npx hubcast …`, `npm exec`), a `sh -c` sits between npm and this process and
 * does not pass npm's SIGTERM on: the shell dies and this process would live on under PID 1,
 * holding the port and DATA_DIR. When the parent goes away, stop as if signalled. Only under
 * npm: a process started with nohup from a shell that then exits keeps running.
 */
function followLauncher(stop: (signal: NodeJS.Signals) => void): void {
  if (process.env.npm_command === undefined) return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    stop('SIGTERM');
  }, 500);
  timer.unref();
}

export type { Gateway };

main(process.argv.slice(2)).catch((err) => {
  console.error(`hubcast: ${err instanceof Error ? err.message : String(err)}`);
  // A bad argument or setting (ConfigError) is a usage error, as for the checks above.
  process.exit(err instanceof ConfigError ? 2 : 1);
});
