import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProviderUnavailableError, sendOutcomeUnknown } from '@switchboard/core';
import { GraphClient } from './whatsapp.client.js';

/** A Graph stand-in that never answers a message send (the request hangs) and answers anything else at once. */
async function hangingGraph(): Promise<{ url: string; sends: () => number; close: () => Promise<void> }> {
  let sends = 0;
  const open = new Set<ServerResponse>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    if (req.method === 'POST' && req.url?.endsWith('/messages')) {
      sends += 1;
      open.add(res);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: [] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v24.0`,
    sends: () => sends,
    close: async () => {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('GraphClient send timeout', () => {
  let graph: Awaited<ReturnType<typeof hangingGraph>>;
  beforeAll(async () => {
    graph = await hangingGraph();
  });
  afterAll(() => graph.close());

  it('gives up a hanging message send after sendTimeoutMs, as an outcome-unknown error (reconciled, never resent blindly)', async () => {
    const client = new GraphClient({ baseUrl: graph.url, accessToken: 't', timeoutMs: 20_000, sendTimeoutMs: 300 });
    const started = Date.now();
    const err = await client.sendMessage('1555', '15550001', { type: 'text', text: { body: 'hi' } }, { callbackData: 'o#0' }).catch((e: unknown) => e);
    const took = Date.now() - started;
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect(sendOutcomeUnknown(err)).toBe(true);
    expect(graph.sends()).toBe(1);
    expect(took).toBeGreaterThanOrEqual(250);
    // the general timeout (20 s) does not apply to sends
    expect(took).toBeLessThan(10_000);
  });

  it('keeps the general timeout for other calls', async () => {
    const client = new GraphClient({ baseUrl: graph.url, accessToken: 't', timeoutMs: 20_000, sendTimeoutMs: 300 });
    await expect(client.listTemplates('123')).resolves.toEqual([]);
  });
});
