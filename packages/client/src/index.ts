import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './schema.js';

/**
 * A typed client of the Switchboard HTTP API: `openapi-fetch` over the types `openapi-typescript`
 * generated from the API's OpenAPI document (`openapi.json`, kept equal to the served document by a
 * test of the admin app; `pnpm api:client` regenerates both).
 *
 * ```ts
 * const api = switchboardClient({ baseUrl: 'http://localhost:3000', apiKey: process.env.SWITCHBOARD_KEY! });
 * const { data, error, response } = await api.POST('/api/v1/messages', {
 *   params: { header: { 'Idempotency-Key': 'order-1234-shipped' } },
 *   body: { channel: 'whatsapp', to: '+4915112345678', text: 'Your order has shipped' },
 * });
 * ```
 */

export type { components, paths } from './schema.js';

/** The API's error body (`{error, message, details?}`). */
export type ApiErrorBody = components['schemas']['Error'];

/** What {@link switchboardClient} needs. */
export interface SwitchboardClientOptions extends Omit<ClientOptions, 'baseUrl'> {
  /** The admin app's origin, e.g. `http://localhost:3000` (no `/api/v1`: paths carry it). */
  baseUrl: string;
  /** The secret of a key of `API_KEYS`. */
  apiKey: string;
}

/** A client whose every request carries `Authorization: Bearer <apiKey>`. */
export function switchboardClient(options: SwitchboardClientOptions): Client<paths> {
  const { apiKey, headers, ...rest } = options;
  return createClient<paths>({ ...rest, headers: { ...(headers as Record<string, string> | undefined), authorization: `Bearer ${apiKey}` } });
}
