import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Application, AppContext, Component, MetricSpec, RouteDoc } from '../application.js';
import type { AppChannels } from '../hub/app-channels.js';
import { isValidChannelName } from '../hub/channel-name.js';
import { migrate } from '../store/index.js';
import { PAGE_HEADERS } from '../web/routes.js';
import { STAT_METRICS } from '../metrics.js';
import { OPERATIONS } from '../openapi/document.js';
import { SystemEvent } from '../codes.js';

/** What registering an application needs from the gateway (everything but the application's own code). */
export interface AppHost {
  readonly log: Logger;
  readonly appChannels: AppChannels;
  /** The context parts shared by every application (`log` is made per application). */
  readonly context: Omit<AppContext, 'log' | 'component'>;
  /** Presence on channels matching `patterns` too. */
  addPresence(patterns: readonly string[]): void;
  addComponent(component: Component): void;
}

const APP_NAME = /^[a-z][a-z0-9-]{0,39}$/;

/**
 * The gateway's applications (src/application.ts): registers each one's
 * channels, presence, default channels, metrics, events and route docs, runs
 * its migrations, then its `setup`. What the core serves about them
 * (`/metrics`, `/openapi.json`, `gateway.events()`) is read from here.
 */
export class Applications {
  private readonly host: AppHost;
  private readonly _names = new Set<string>();
  private readonly _metrics: Record<string, MetricSpec> = { ...STAT_METRICS };
  private readonly _routes: Record<string, RouteDoc> = { ...OPERATIONS };
  private readonly _events = new Set<string>(Object.values(SystemEvent));
  private readonly tables = new Set<string>();

  constructor(host: AppHost) {
    this.host = host;
  }

  /** Names of the registered applications, in order. */
  get names(): string[] {
    return [...this._names];
  }

  /** Every stats field's metric: the core's and the applications'. */
  get metrics(): Readonly<Record<string, MetricSpec>> {
    return this._metrics;
  }

  /** Every documented HTTP operation: the core's and the applications'. */
  get routes(): Readonly<Record<string, RouteDoc>> {
    return this._routes;
  }

  /** Every event name the server publishes on its own: the core's and the applications'. */
  get events(): string[] {
    return [...this._events];
  }

  /**
   * Register `app`. Declarations are checked before anything is opened, so a
   * mistake (a taken name, an overlapping channel, a metric named twice) fails
   * the start with the application's name in the message.
   */
  async register(app: Application): Promise<void> {
    const host = this.host;
    if (!APP_NAME.test(app.name))
      throw new Error(
        `application name ${JSON.stringify(app.name)}: 1–40 characters of a-z 0-9 -, starting with a letter`,
      );
    if (this._names.has(app.name)) throw new Error(`application ${app.name} is registered already`);
    for (const c of app.defaultChannels ?? []) {
      if (!isValidChannelName(c))
        throw new Error(`${app.name}: default channel ${JSON.stringify(c)} is not a valid channel name`);
    }
    for (const [key, spec] of Object.entries(app.metrics ?? {})) {
      if (this._metrics[key] !== undefined)
        throw new Error(`${app.name}: stats field ${key} has a metric already (${this._metrics[key].name})`);
      if (!/^hubcast_[a-z0-9_]+$/.test(spec.name))
        throw new Error(`${app.name}: metric ${spec.name} must be hubcast_ and lower-case letters, digits, _`);
    }
    for (const key of Object.keys(app.routes ?? {})) {
      if (this._routes[key] !== undefined) throw new Error(`${app.name}: route ${key} is documented already`);
    }
    if (app.migrations !== undefined && this.tables.has(app.migrations.table)) {
      throw new Error(`${app.name}: migration table ${app.migrations.table} is another application's`);
    }
    this._names.add(app.name);
    if (app.migrations !== undefined) this.tables.add(app.migrations.table);
    const presence: string[] = [];
    for (const claim of app.channels ?? []) {
      host.appChannels.claim(app.name, claim.pattern, claim.publish);
      if (claim.presence === true) presence.push(claim.pattern);
    }
    if (presence.length > 0) host.addPresence(presence);
    host.appChannels.defaults.push(...(app.defaultChannels ?? []));
    Object.assign(this._metrics, app.metrics);
    Object.assign(this._routes, app.routes);
    for (const e of app.events ?? []) this._events.add(e);

    const log = host.log.child({ app: app.name });
    if (app.migrations !== undefined) {
      await migrate(await host.context.database(), log, app.migrations.list, app.migrations.table);
    }
    await app.setup?.({ ...host.context, log, component: (c) => host.addComponent(c) });
  }
}

/** `ctx.page`: an HTML page served with the gateway's page headers. */
export function servePage(http: FastifyInstance, path: string, html: string): void {
  http.get(path, async (_req, reply) => reply.headers(PAGE_HEADERS).send(html));
}
