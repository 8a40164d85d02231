import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { ZodType } from 'zod';
import type { Logger } from 'pino';
import type { Config } from './config/config.js';
import type { Database, Migration } from './store/index.js';
import type { Identity } from './auth/permissions.js';
import type { ChannelHandler, ChannelSender } from './hub/app-channels.js';
import type { Publisher, PublishOptions } from './hub/publisher.js';
import type { PresenceMember, PresencePage } from './hub/presence.js';
import type { ServerApiGuard } from './transports/http/api-key.js';

export type {
  ChannelHandler,
  ChannelSender,
  Identity,
  Publisher,
  PublishOptions,
  PresenceMember,
  PresencePage,
  Migration,
  Database,
  ServerApiGuard,
};
/** `?cursor=&limit=` of a member list, checked as the presence endpoint checks it (for applications' own member routes). */
export { parsePageQuery } from './transports/http/presence-routes.js';

/** A dependency the gateway checks for readiness (`/readyz`) and closes on shutdown, in reverse order of registration. */
export interface Component {
  name: string;
  ready(): Promise<boolean> | boolean;
  close(): Promise<void>;
  /** Extra numeric figures for `/realtime/stats` (and `/metrics`, through the application's `metrics`). */
  stats?(): Record<string, number>;
}

/** One HTTP operation on `/openapi.json`. */
export interface RouteDoc {
  summary: string;
  /** Groups operations on the docs page: the application's name, `pages`, … */
  tag: string;
  /** Server API: API_KEY bearer (or loopback when unset). */
  apiKey?: boolean;
  query?: { name: string; description: string; type?: 'string' | 'integer' }[];
  /** The zod schema that validates the body, and an example it accepts. */
  body?: { schema: ZodType; example: unknown };
  /** Main success answer: status, content type and, where described, its JSON schema (200 JSON when absent). */
  ok?: { status: number; type: string; description: string; schema?: Record<string, unknown> };
  errors?: number[];
}

/** How one stats field is exported on `/metrics`: `counter` for totals that only grow (`_total`), `gauge` for current values. */
export interface MetricSpec {
  name: string;
  help: string;
  kind: 'counter' | 'gauge';
}

/**
 * A channel name (`products`) or a prefix ending in `*` (`product:*`) an
 * application owns. `publish: 'server'`: clients may join (no token grant
 * needed) but only the server publishes. A {@link ChannelHandler}: a client's
 * publish there is handed to the application, which validates, stores and
 * publishes it itself (chat).
 */
export interface ChannelClaim {
  pattern: string;
  publish: 'server' | ChannelHandler;
  /** Track who is on these channels (`presence.join`/`presence.leave`, the presence API). */
  presence?: boolean;
}

/**
 * A hubcast application: everything it adds to the gateway, declared in one
 * place. The declarative fields are read when the application is registered
 * (before `setup`); `setup` adds routes, pages and components.
 *
 * @example
 * const notes: Application = {
 *   name: 'notes',
 *   channels: [{ pattern: 'notes', publish: 'server' }],
 *   events: ['note.added'],
 *   setup(ctx) {
 *     ctx.http.post('/api/notes', async (req) => ({ id: await ctx.publisher.publish('notes', 'note.added', req.body) }));
 *   },
 * };
 * const gateway = await createGateway(makeConfig({ port: 8080 }), { apps: [notes] });
 */
export interface Application {
  /** Lower-case, unique among the gateway's applications: logs (`app`), readiness checks. */
  readonly name: string;
  /** Channels it owns: no other application may claim an overlapping pattern. */
  readonly channels?: readonly ChannelClaim[];
  /** What an SSE stream or long poll naming no `channels` joins (the catalog: `products`). */
  readonly defaultChannels?: readonly string[];
  /** Event names it publishes (`product.updated`): listed by `gateway.events()`, checked against docs/protocol.md by its tests. */
  readonly events?: readonly string[];
  /** Its HTTP routes, keyed `METHOD path` in fastify's form (`GET /api/notes/:id`), described on `/openapi.json`. */
  readonly routes?: Readonly<Record<string, RouteDoc>>;
  /**
   * Its schema: applied on the gateway's database (under the migration lock)
   * before `setup`, versions recorded in `table`, numbered apart from every
   * other application's.
   */
  readonly migrations?: { readonly table: string; readonly list: readonly Migration[] };
  /** `/metrics` names for the stats fields its components report. */
  readonly metrics?: Readonly<Record<string, MetricSpec>>;
  /** Routes, pages, components: may be async (connect to services). A throw fails the gateway's start, after releasing what was opened. */
  setup?(ctx: AppContext): Promise<void> | void;
}

/** Who may go where, by the gateway's rules (token grants, private `user:` channels, owned channels). */
export interface Access {
  /** Auth is on (JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS). */
  readonly enabled: boolean;
  /** The identity a request carries (`?token=` or `Authorization: Bearer`); anonymous when auth is off. Rejects with `unauthorized`. */
  identify(req: IncomingMessage, url: URL): Promise<Identity>;
  /** Why a join of `channel` is refused, or null. */
  joinDenied(identity: Identity, channel: string): string | null;
  /** Why a client publish on `channel` is refused, or null. */
  publishDenied(identity: Identity, channel: string): string | null;
}

/** What `setup` gets: the gateway's parts an application may use, and nothing more. */
export interface AppContext {
  readonly config: Config;
  /** The gateway's logger with `app: <name>`. */
  readonly log: Logger;
  /** The HTTP app: add routes with `ctx.http.get(...)` or `ctx.http.register(plugin)`. */
  readonly http: FastifyInstance;
  /** Publish to channels (serialized once, fanned out on every node). */
  readonly publisher: Publisher;
  readonly access: Access;
  /** The server API's access rule (API_KEY, loopback, ALLOWED_ORIGINS), for routes that act as the server. */
  readonly serverApiGuard: ServerApiGuard;
  /** The process's one database, opened on first call, shared by every application, closed with the gateway. */
  database(): Promise<Database>;
  /** Checked by `/readyz`, its stats on `/realtime/stats`, closed on shutdown (reverse order of registration). */
  component(component: Component): void;
  /** An HTML page at `path`, served with the gateway's page headers (CSP, nosniff, no framing). */
  page(path: string, html: string): void;
  /** One page of who is present on `channel` (`cursor`: a previous page's `next_cursor`), with the whole count; null when the channel has no presence. */
  presencePage(channel: string, cursor: string | null, limit: number): Promise<PresencePage> | null;
  /** How many are present on `channel`, cluster-wide (no listing); null when the channel has no presence. */
  presenceCount(channel: string): Promise<number> | null;
}

/** Identity for an application object: type-checks its fields and gives the examples one shape to copy. */
export function defineApplication(app: Application): Application {
  return app;
}
