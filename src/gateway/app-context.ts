import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import type { AppContext } from '../application.js';
import type { Hub } from '../hub/hub.js';
import type { AppChannels } from '../hub/app-channels.js';
import type { Database } from '../store/index.js';
import type { Authenticator } from '../auth/tokens.js';
import { anonymous, joinDenied, publishDenied } from '../auth/permissions.js';
import type { ServerApiGuard } from '../transports/http/api-key.js';
import { servePage } from './applications.js';
import type { GatewayPresence } from './presence.js';

export interface AppContextSources {
  config: Config;
  http: FastifyInstance;
  hub: Hub;
  auth: Authenticator;
  appChannels: AppChannels;
  serverApiGuard: ServerApiGuard;
  presence: GatewayPresence;
  database(): Promise<Database>;
}

/**
 * The part of `AppContext` every application shares (`log` and `component`
 * are made per application): the gateway's parts an application may use,
 * reached through functions, never the parts themselves.
 */
export function appContext(s: AppContextSources): Omit<AppContext, 'log' | 'component'> {
  const { auth, appChannels: channels, presence, http } = s;
  return {
    config: s.config,
    http,
    publisher: s.hub,
    access: {
      enabled: auth.enabled,
      identify: (req, url) => (auth.enabled ? auth.identify(req, url) : Promise.resolve(anonymous())),
      joinDenied: (identity, channel) => joinDenied(identity, channel, channels),
      publishDenied: (identity, channel) => publishDenied(identity, channel, channels),
    },
    serverApiGuard: s.serverApiGuard,
    database: s.database,
    page: (path, html) => servePage(http, path, html),
    presencePage: (channel, cursor, limit) => presence.page(channel, cursor, limit),
    presenceCount: (channel) => presence.count(channel),
  };
}
