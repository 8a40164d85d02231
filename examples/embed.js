#!/usr/bin/env node
// hubcast inside your own process, with one application of your own: a yes/no vote.
// Usage: npm run build && node examples/embed.js   (settings from the environment: PORT, HOST, REDIS_URL, …)
// Then: curl -N localhost:8000/realtime/events   and, elsewhere,   curl -X POST localhost:8000/api/vote/yes
import { createGateway, loadConfig, defineApplication, HubcastError, ErrorCode } from 'hubcast';

const votes = { yes: 0, no: 0 };
const vote = defineApplication({
  name: 'vote',
  channels: [{ pattern: 'votes', publish: 'server' }], // clients watch it; only the server publishes there
  defaultChannels: ['votes'], // what a stream naming no channels= joins
  events: ['vote.counted'],
  setup(ctx) {
    ctx.http.post('/api/vote/:choice', async (req) => {
      const choice = req.params.choice;
      if (!Object.hasOwn(votes, choice)) throw new HubcastError(ErrorCode.notFound, 'vote yes or no', 404);
      votes[choice]++;
      await ctx.publisher.publish('votes', 'vote.counted', votes);
      return votes;
    });
  },
});

const gateway = await createGateway(loadConfig(), { apps: [vote] });
await gateway.listen();
console.log(`hubcast with the vote application on ${gateway.url}`);
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => gateway.close().then(() => process.exit(0)));
