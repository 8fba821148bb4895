// Child process of `pnpm bench`: fake Graph API and fake OpenAI (from the built testkit) on
// loopback, plus a /stats endpoint with the receive time of every send. Prints its URLs as JSON.
import http from 'node:http';
import { startFakeGraph, startFakeOpenAI } from '@switchboard/testkit';

const llmDelayMs = Number(process.env.BENCH_LLM_DELAY_MS ?? 0);
// `BENCH_KB_MARKER`: a word in every knowledge chunk the bench ingested; chat requests whose prompt
// holds it are counted (`kbPrompts`), which shows each turn really gave retrieved knowledge to the model.
const kbMarker = process.env.BENCH_KB_MARKER;
let kbPrompts = 0;
// TCP connections each fake accepted (by port): shows whether the gateway's clients keep connections alive.
// The testkit fakes announce `Keep-Alive: timeout=1`, and Node's agent then drops every socket after
// its response (it keeps a socket for the server's hint minus 1 s): providers keep connections far
// longer, so the bench's fakes hold them BENCH_FAKES_KEEPALIVE_MS (default 65 s, as the gateway does).
const keepAliveMs = Number(process.env.BENCH_FAKES_KEEPALIVE_MS ?? 65_000);
/** @type {Map<number, number>} */
const connections = new Map();
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (/** @type {string} */ event, /** @type {any[]} */ ...args) {
  if (event === 'connection') {
    this.keepAliveTimeout = keepAliveMs;
    const port = /** @type {import('node:net').AddressInfo} */ (this.address())?.port;
    connections.set(port, (connections.get(port) ?? 0) + 1);
  }
  return emit.call(this, event, ...args);
};
const portOf = (/** @type {string} */ url) => Number(new URL(url).port);
const graph = await startFakeGraph();
let inFlight = 0;
let maxInFlight = 0;
const openai = await startFakeOpenAI({
  reply: async (req) => {
    if (kbMarker && JSON.stringify(req.messages).includes(kbMarker)) kbPrompts += 1;
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
  const conns = { graph: connections.get(portOf(graph.url)) ?? 0, openai: connections.get(portOf(openai.url)) ?? 0 };
  res.end(JSON.stringify({ sends: sends.length, times, maxInFlight, llmCalls: openai.requests.length, kbPrompts, embeddings: openai.embeddingInputs.length, connections: conns }));
  if (req.url === '/reset') {
    connections.clear();
    graph.reset();
    openai.requests.length = 0;
    openai.embeddingInputs.length = 0;
    maxInFlight = 0;
    kbPrompts = 0;
  }
});
stats.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ graph: graph.url, openai: openai.url, stats: `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (stats.address()).port}` }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
