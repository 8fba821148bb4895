import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';

/**
 * Keep-alive agents for a provider client: without them every API call opens (and closes) a TCP
 * and TLS connection, which costs more than the call itself at gateway volumes.
 */
export function keepAliveAgents(maxSockets = 256): { httpAgent: HttpAgent; httpsAgent: HttpsAgent } {
  return {
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets, keepAliveMsecs: 10_000 }),
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets, keepAliveMsecs: 10_000 }),
  };
}
