// A gateway in its own process: what a test measures from outside (ping times,
// what flooders get back) is then not disturbed by the test's own clients.
import { startGateway } from '../helpers/gateway.js';

const overrides = JSON.parse(process.argv[2] ?? '{}');
const gw = await startGateway(overrides);

process.on('message', async (m: { type: string }) => {
  if (m.type === 'stats') process.send!({ type: 'stats', stats: gw.gateway.stats() });
  else if (m.type === 'stop') {
    await gw.close();
    process.send!({ type: 'stopped' }, () => process.exit(0));
  }
});
// The parent went away: don't linger.
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready', url: gw.url });
