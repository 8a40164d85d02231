#!/usr/bin/env node
import { config as loadDotenv } from 'dotenv';
import { loadConfig, ConfigError, type Config } from './config/config.js';
import { createLogger } from './logger.js';
import { createGateway, type Gateway } from './server.js';

const USAGE = `usage: hubcast <command>

  start       gateway + event generator in one process, embedded defaults (npm start)
  gateway     the gateway only (distributed mode)
  generator   the event generator only; --rate <events/s> for load

Configuration is read from the environment and .env (see README).`;

async function main(argv: string[]): Promise<void> {
  loadDotenv({ quiet: true });
  const command = argv[0];
  if (command === undefined || command === '--help' || command === '-h') {
    console.log(USAGE);
    process.exit(command === undefined ? 1 : 0);
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`hubcast: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  switch (command) {
    case 'start':
    case 'gateway': {
      const { catalogPipeline } = await import('./pipeline.js');
      const { chatApp } = await import('./chat/app.js');
      const gateway = await createGateway(config, { logger: log, extensions: [catalogPipeline({ withGenerator: command === 'start' }), chatApp()] });
      const address = await gateway.listen();
      log.info({ url: `http://${config.host}:${address.port}`, mode: command }, 'hubcast gateway listening');
      onShutdown(log, () => gateway.close());
      return;
    }
    case 'generator': {
      const { runGenerator } = await import('./catalog/generator-cli.js');
      const stop = await runGenerator(config, argv.slice(1), log);
      onShutdown(log, stop);
      return;
    }
    case 'rebuild':
      return void process.exit(await (await import('./catalog/rebuild-cli.js')).runRebuild(config, argv.slice(1), log));
    default:
      console.error(`hubcast: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      process.exit(2);
  }
}

/** SIGTERM/SIGINT: graceful stop, bounded at 10 s; a second signal exits at once. */
function onShutdown(log: ReturnType<typeof createLogger>, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    log.info({ signal }, 'shutting down');
    setTimeout(() => {
      log.error('shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, 10_000).unref();
    stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

export type { Gateway };

main(process.argv.slice(2)).catch((err) => {
  console.error(`hubcast: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
