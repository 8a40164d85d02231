import type { FastifyInstance } from 'fastify';
import { ErrorCode } from '../../codes.js';
import { HubcastError } from '../../errors.js';
import type { ClusterNodes } from '../../cluster/cluster.js';
import type { ServerApiGuard } from '../../transports/http/api-key.js';
import { PAGE_HEADERS } from '../routes.js';
import { adminPage } from './page.js';
import { nodeReport, type NodeReport, type ReportSource } from './report.js';
import { clusterView } from './view.js';

/** The cluster question every node answers with its NodeReport. */
export const ADMIN_QUESTION = 'admin.report';

export interface AdminRoutesOptions extends ReportSource {
  cluster: ClusterNodes;
  /** The server API's rules: the key, or a local caller when none is set. */
  guard: ServerApiGuard;
  /** API_KEY is set: the page (which holds no data) is served to anyone and asks for the key. */
  apiKey: boolean;
}

const DEFAULTS = { top: 20, slowest: 10 };

function intParam(query: unknown, name: keyof typeof DEFAULTS, max: number): number {
  const raw = (query as Record<string, unknown> | undefined)?.[name];
  if (raw === undefined) return DEFAULTS[name];
  const n = typeof raw === 'string' && /^\d{1,4}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= max)) throw new HubcastError(ErrorCode.badRequest, `${name}: an integer from 1 to ${max}`, 400);
  return n;
}

/**
 * GET /admin (the page) and GET /admin/cluster (its data): every live node's
 * report, gathered over the cluster bus with a deadline. Every node answers
 * the admin question, so any node can serve the page.
 */
export function adminRoutes(app: FastifyInstance, options: AdminRoutesOptions): void {
  const { cluster, guard } = options;
  cluster.answer(ADMIN_QUESTION, (payload) => {
    const slowest = Math.min(50, Math.max(1, Number((payload as { slowest?: unknown })?.slowest) || DEFAULTS.slowest));
    return nodeReport(options, slowest);
  });
  const page = adminPage(options.apiKey);
  app.get('/admin', options.apiKey ? {} : { onRequest: guard }, async (_req, reply) => reply.headers(PAGE_HEADERS).send(page));
  app.get('/admin/cluster', { onRequest: guard }, async (req, reply) => {
    const top = intParam(req.query, 'top', 200);
    const slowest = intParam(req.query, 'slowest', 50);
    const gathered = await cluster.ask<NodeReport>(ADMIN_QUESTION, { slowest });
    return reply.header('Cache-Control', 'no-store').send(clusterView(cluster.nodeId, gathered, top));
  });
}
