import axios, { type AxiosInstance } from 'axios';
import { ConfigurationError, keepAliveAgents, ProviderRateLimitedError, ProviderUnavailableError } from '@switchboard/core';

/** Options of {@link GraphMediaUploader}. */
export interface GraphMediaUploaderOptions {
  /** WHATSAPP_GRAPH_URL, e.g. `https://graph.facebook.com/v24.0`. */
  graphUrl: string;
  accessToken: string;
  timeoutMs: number;
  userAgent?: string;
}

const text = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * `POST /{phone-number-id}/media` (multipart; the id lives 30 days). A refused file (131053 and
 * other 4xx) is answered with the reason, so the customer gets a link instead; a refused token,
 * a rate limit and a 5xx are raised as typed errors for the outbound job.
 * @see https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media
 */
export class GraphMediaUploader {
  private readonly http: AxiosInstance;

  constructor(opts: GraphMediaUploaderOptions) {
    this.http = axios.create({
      baseURL: opts.graphUrl,
      timeout: opts.timeoutMs,
      validateStatus: () => true,
      // the Bearer token goes to the Graph origin only: never follow a redirect elsewhere with it
      maxRedirects: 0,
      headers: { Authorization: `Bearer ${opts.accessToken}`, ...(opts.userAgent ? { 'User-Agent': opts.userAgent } : {}) },
      // the configured Graph origin (never a URL from a payload): one pool of kept-alive connections per account
      ...keepAliveAgents(),
    });
  }

  async upload(phoneNumberId: string, file: { blob: Blob; mimeType: string; filename: string }): Promise<{ id: string } | { reason: string }> {
    const form = new FormData();
    form.append('messaging_product', 'whatsapp');
    form.append('type', file.mimeType);
    form.append('file', file.blob, file.filename);
    let res;
    try {
      res = await this.http.post<{ id?: string; error?: { code?: number; message?: string } }>(`/${encodeURIComponent(phoneNumberId)}/media`, form);
    } catch (err) {
      throw new ProviderUnavailableError(`whatsapp media upload: network error: ${text(err)}`, { providerCode: 'network', cause: err });
    }
    const id = res.data?.id;
    if (res.status >= 200 && res.status < 300 && typeof id === 'string') return { id };
    const code = res.data?.error?.code;
    const message = res.data?.error?.message ?? `HTTP ${res.status}`;
    if (res.status === 401 || code === 190) throw new ConfigurationError(`whatsapp media upload refused the access token: ${message}`);
    if (res.status === 429 || code === 130429 || code === 80007) throw new ProviderRateLimitedError(`whatsapp media upload rate limited: ${message}`, { providerCode: code ?? 429, retryAfterMs: 60_000 });
    if (res.status >= 500) throw new ProviderUnavailableError(`whatsapp media upload: ${message}`, { providerCode: code ?? res.status });
    return { reason: `WhatsApp refused the upload (${code ?? res.status}: ${message})` };
  }
}
