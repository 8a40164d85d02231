/**
 * A TCP relay to a local port that a test can cut: `block()` drops every connection through it
 * and refuses new ones until `unblock()`. Put in front of one node's Redis, it keeps that node
 * away while the others carry on — a partition, on demand and in order, where a restart alone
 * would leave the order of reconnects to chance.
 */
import { connect, createServer, type Socket } from 'node:net';
import { once } from 'node:events';

export interface TcpProxy {
  port: number;
  /** `redis://127.0.0.1:<port>` */
  url: string;
  readonly blocked: boolean;
  block(): void;
  unblock(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const live = new Set<Socket>();
  let blocked = false;
  const server = createServer((client) => {
    if (blocked) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    live.add(client);
    live.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      live.delete(client);
      live.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get blocked() {
      return blocked;
    },
    block() {
      blocked = true;
      for (const s of live) s.destroy();
      live.clear();
    },
    unblock() {
      blocked = false;
    },
    async close() {
      blocked = true;
      for (const s of live) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
