/**
 * The hubcast realtime core as a bench server: the compiled gateway from
 * dist/ (run `npm run build` first) with no applications, so the fan-out path is
 * measured without the catalog pipeline. Prints `{"port": P}` on stdout once
 * listening; stops on SIGTERM.
 *
 * Configuration comes from the environment like `hubcast gateway`
 * (REALTIME_MAX_CONNECTIONS, CLIENT_BUFFER_BYTES, ...); PORT defaults to 0.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../dist/config/config.js';
import { createGateway } from '../../dist/server.js';
import { createLogger } from '../../dist/logger.js';

const env = {
  PORT: '0',
  LOG_LEVEL: 'warn',
  REALTIME_MAX_CONNECTIONS: '20000',
  // Every bench client comes from 127.0.0.1, and the publisher sends thousands
  // of frames a second on one connection: per-address and per-connection
  // limits off (0), as behind a proxy.
  REALTIME_MAX_CONNECTIONS_PER_IP: '0',
  WS_RATE_LIMIT: '0',
  WS_RATE_LIMIT_BYTES: '0',
  DATA_DIR: mkdtempSync(join(tmpdir(), 'hubcast-bench-')),
  ...process.env,
};
const config = loadConfig(env);
const gateway = await createGateway(config, { logger: createLogger(config.logLevel) });
const address = await gateway.listen();
process.stdout.write(JSON.stringify({ port: address.port, pid: process.pid }) + '\n');

const stop = () => {
  gateway.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
