// Publish one event to a channel, retrying outages; the Idempotency-Key makes a retry that
// follows a lost answer a no-op, so the event goes out once.
// Usage: node examples/publish.js [channel] [json data]   (HUBCAST_URL, HUBCAST_API_KEY from env)
import { randomUUID } from 'node:crypto';

const url = `${process.env.HUBCAST_URL ?? 'http://127.0.0.1:8000'}/realtime/send`;
const [channel = 'orders', data = '{"id": 1, "status": "created"}'] = process.argv.slice(2);
const headers = { 'content-type': 'application/json', 'idempotency-key': randomUUID() };
if (process.env.HUBCAST_API_KEY) headers.authorization = `Bearer ${process.env.HUBCAST_API_KEY}`;
const body = JSON.stringify({ channel, event: 'order.created', data: JSON.parse(data) });

for (let attempt = 1; ; attempt++) {
  const res = await fetch(url, { method: 'POST', headers, body }).catch((err) => ({ status: 0, err }));
  if (res.status === 200) {
    console.log('published', await res.json());
    break;
  }
  const retry = res.status === 0 || res.status === 409 || res.status === 429 || res.status >= 500;
  const why = res.err ? res.err.message : JSON.stringify(await res.json().catch(() => res.status));
  if (!retry || attempt === 8) {
    console.error(`not published (${res.status}): ${why}`);
    process.exit(1);
  }
  const wait = Math.max(Number(res.headers?.get('retry-after') ?? 0) * 1000, Math.random() * 250 * 2 ** attempt);
  console.error(`attempt ${attempt} failed (${res.status || why}); retrying in ${Math.round(wait)} ms`);
  await new Promise((r) => setTimeout(r, wait));
}
