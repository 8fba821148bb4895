// Child process of `pnpm bench`: fake Graph API and fake OpenAI (from the built testkit) on
// loopback, plus a /stats endpoint with the receive time of every send. Prints its URLs as JSON.
import http from 'node:http';
import { startFakeGraph, startFakeOpenAI } from '@switchboard/testkit';

const llmDelayMs = Number(process.env.BENCH_LLM_DELAY_MS ?? 0);
const graph = await startFakeGraph();
let inFlight = 0;
let maxInFlight = 0;
const openai = await startFakeOpenAI({
  reply: async () => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    if (llmDelayMs > 0) await new Promise((r) => setTimeout(r, llmDelayMs));
    inFlight -= 1;
    return 'Thanks, your order is on its way.';
  },
});
// the broadcast phase's template (`BENCH_WABA`: the business account it is listed under)
if (process.env.BENCH_WABA) {
  graph.templates.set(process.env.BENCH_WABA, [{ id: '1', name: 'bench_offer', language: 'en_US', status: 'APPROVED', category: 'MARKETING', components: [{ type: 'BODY', text: 'Hi {{1}}, 20% off this week' }] }]);
}
// keep memory flat during long runs: the bench only needs send times
graph.requests.length = 0;
const stats = http.createServer((req, res) => {
  const sends = graph.sent.map((m, i) => ({ to: m.to ?? m.recipient, i }));
  const times = graph.requests.filter((r) => r.path.endsWith('/messages') && r.body && /** @type {any} */ (r.body).type).map((r) => ({ to: /** @type {any} */ (r.body).to ?? /** @type {any} */ (r.body).recipient, at: r.at }));
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ sends: sends.length, times, maxInFlight, llmCalls: openai.requests.length }));
  if (req.url === '/reset') {
    graph.reset();
    openai.requests.length = 0;
    maxInFlight = 0;
  }
});
stats.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ graph: graph.url, openai: openai.url, stats: `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (stats.address()).port}` }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
