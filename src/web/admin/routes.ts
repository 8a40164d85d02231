import type { FastifyInstance } from 'fastify';
import { ErrorCode } from '../../codes.js';
import { HubcastError } from '../../errors.js';
import type { ClusterNodes } from '../../cluster/cluster.js';
import type { Gathered } from '../../cluster/gather.js';
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

/**
 * A gathered answer is served again for this long: every open admin page asks
 * every 2 s and each ask walks every node's connections, so ten open tabs cost
 * the nodes what one does.
 */
const REUSE_MS = 1000;

interface Gathering {
  /** When the question went out. */
  at: number;
  gathered: Promise<Gathered<NodeReport>>;
}

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
  const recent = new Map<number, Gathering>();
  const gather = (slowest: number): Gathering => {
    const now = Date.now();
    const hit = recent.get(slowest);
    if (hit !== undefined && now - hit.at < REUSE_MS) return hit;
    const gathering = { at: now, gathered: cluster.ask<NodeReport>(ADMIN_QUESTION, { slowest }) };
    // Asks in flight are shared too; a failed one is not kept.
    gathering.gathered.catch(() => recent.delete(slowest));
    recent.set(slowest, gathering);
    return gathering;
  };
  const page = adminPage(options.apiKey);
  app.get('/admin', options.apiKey ? {} : { onRequest: guard }, async (_req, reply) =>
    reply.headers(PAGE_HEADERS).send(page),
  );
  app.get('/admin/cluster', { onRequest: guard }, async (req, reply) => {
    const top = intParam(req.query, 'top', 200);
    const slowest = intParam(req.query, 'slowest', 50);
    const { at, gathered } = gather(slowest);
    return reply.header('Cache-Control', 'no-store').send(clusterView(cluster.nodeId, await gathered, top, at));
  });
}
