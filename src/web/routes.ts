import type { FastifyInstance } from 'fastify';
import { sseTestPage } from './sse-test-page.js';
import { sdkRoutes } from './sdk-route.js';
import { faviconIco } from './favicon.js';

/** Pages are self-contained HTML with strict security headers; data is always rendered as text. */
export const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

/** The gateway's own pages and files: the SSE test page (its channels field filled with `defaults()`), the SDK module, the icon. */
export function webRoutes(app: FastifyInstance, defaults: () => readonly string[]): void {
  app.get('/realtime/sse-test', async (_req, reply) =>
    reply.headers(PAGE_HEADERS).send(sseTestPage(defaults().join(','))),
  );
  sdkRoutes(app);
  let icon: Buffer | null = null;
  app.get('/favicon.ico', async (_req, reply) => {
    icon ??= faviconIco();
    return reply
      .headers({
        'Content-Type': 'image/x-icon',
        'Cache-Control': 'public, max-age=86400',
        'X-Content-Type-Options': 'nosniff',
      })
      .send(icon);
  });
}
