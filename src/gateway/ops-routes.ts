import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Component, RouteDoc } from '../application.js';
import type { ServerApiGuard } from '../transports/http/api-key.js';
import { buildOpenApi } from '../openapi/document.js';
import { docsPage } from '../openapi/docs-page.js';
import { registeredRoutes } from '../transports/http/route-list.js';
import { PAGE_HEADERS } from '../web/routes.js';

export interface OpsRoutesOptions {
  /** Checked by `/readyz`: read per request, applications add theirs after construction. */
  components(): readonly Component[];
  /** Extra readiness checks beside the components (the cluster bus). */
  checks(): Record<string, boolean>;
  /** False once shutdown began: `/readyz` answers 503 so a load balancer stops sending. */
  accepting(): boolean;
  /** Built once the applications are registered (their metrics included). */
  metrics(): Registry;
  /** Every documented operation, the applications' included. */
  routes(): Readonly<Record<string, RouteDoc>>;
  /** Guards `/metrics` unless METRICS_PUBLIC. */
  statsGuard: ServerApiGuard | undefined;
}

/** `/healthz`, `/readyz`, `/metrics`, `/openapi.json` and `/docs` (docs/operations.md). */
export function opsRoutes(app: FastifyInstance, opts: OpsRoutesOptions): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const checks: Record<string, boolean> = {};
    await Promise.all(
      opts.components().map(async (c) => {
        checks[c.name] = await Promise.resolve(c.ready()).catch(() => false);
      }),
    );
    Object.assign(checks, opts.checks());
    const ready = opts.accepting() && Object.values(checks).every(Boolean);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
  });
  app.get('/metrics', opts.statsGuard ? { onRequest: opts.statsGuard } : {}, async (_req, reply) => {
    const metrics = opts.metrics();
    reply.header('Content-Type', metrics.contentType);
    return metrics.metrics();
  });
  // Built on first request: applications add their routes after construction.
  let openapi: string | null = null;
  app.get('/openapi.json', async (_req, reply) => {
    openapi ??= JSON.stringify(buildOpenApi(registeredRoutes(app), opts.routes()));
    return reply.type('application/json').send(openapi);
  });
  app.get('/docs', async (_req, reply) => reply.headers(PAGE_HEADERS).send(docsPage));
}
