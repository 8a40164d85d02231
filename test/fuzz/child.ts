// A gateway in its own process for the hostile-input suite: a crash is seen as
// the process exiting, and RSS is the server's alone. Driven over IPC by harness.ts.
import { catalogChannels, startGateway } from '../helpers/gateway.js';

const overrides = JSON.parse(process.argv[2] ?? '{}');
// The catalog's channel rules, as `hubcast gateway` has them: the suites model products and product:* as server-owned.
const gw = await startGateway(overrides, [catalogChannels]);
const gc = (globalThis as { gc?: () => void }).gc;

process.on('message', async (m: { type: string }) => {
  if (m.type === 'memory') {
    // Two full collections: the second frees what finalizers of the first released.
    gc?.();
    gc?.();
    const slots = { inUse: gw.gateway.gate.inUse, addresses: gw.gateway.gate.addresses };
    process.send!({ type: 'memory', ...process.memoryUsage(), stats: gw.gateway.stats(), slots });
  } else if (m.type === 'stop') {
    await gw.close();
    process.send!({ type: 'stopped' }, () => process.exit(0));
  }
});
// The parent went away: don't linger.
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready', url: gw.url });
