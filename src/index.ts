/**
 * hubcast embedded: build a gateway in your own process and give it your
 * applications (docs/applications.md). This module is the package root
 * (`import { createGateway } from 'hubcast'`); the built-in applications are
 * `hubcast/apps/catalog` and `hubcast/apps/chat`, the client SDK `hubcast/client`.
 *
 * @example
 * import { createGateway, makeConfig, defineApplication } from 'hubcast';
 * const notes = defineApplication({
 *   name: 'notes',
 *   channels: [{ pattern: 'notes', publish: 'server' }],
 *   setup(ctx) {
 *     ctx.http.post('/api/notes', async (req) => ({ id: await ctx.publisher.publish('notes', 'note.added', req.body) }));
 *   },
 * });
 * const gateway = await createGateway(makeConfig({ port: 8080 }), { apps: [notes] });
 * await gateway.listen();
 */
export { createGateway, Gateway, type GatewayOptions } from './server.js';
export { makeConfig, loadConfig, ConfigError, type Config } from './config/config.js';
export { createLogger, type Logger } from './logger.js';
export { HubcastError } from './errors.js';
export { ErrorCode, CloseCode, SystemEvent, SystemType } from './codes.js';
export {
  defineApplication,
  type Application,
  type AppContext,
  type Access,
  type ChannelClaim,
  type ChannelHandler,
  type ChannelSender,
  type Component,
  type Database,
  type Identity,
  type MetricSpec,
  type Migration,
  type PresenceMember,
  type Publisher,
  type PublishOptions,
  type RouteDoc,
  type ServerApiGuard,
} from './application.js';
