import type { FastifyInstance } from 'fastify';
import type { Server } from 'node:http';

export interface RouteEntry {
  method: string;
  /** Fastify's form: `/api/products/:id`. */
  url: string;
}

const lists = new WeakMap<object, RouteEntry[]>();

/**
 * Record every route the app (and its plugins) registers, so the OpenAPI
 * document can be built from, and checked against, what really answers.
 * Call before any route is added: onRoute only sees routes added after it.
 */
export function trackRoutes(app: FastifyInstance<Server>): void {
  const list: RouteEntry[] = [];
  lists.set(app, list);
  app.addHook('onRoute', (route) => {
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      // Fastify adds a HEAD route for every GET: not an operation of its own.
      if (method === 'HEAD') continue;
      list.push({ method, url: route.url });
    }
  });
}

/** Routes recorded by trackRoutes, in registration order. */
export function registeredRoutes(app: FastifyInstance<Server>): readonly RouteEntry[] {
  return lists.get(app) ?? [];
}
