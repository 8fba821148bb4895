import { z } from 'zod';
import { int } from '@switchboard/core';

const blank = (v: unknown): unknown => (typeof v === 'string' && v.trim() === '' ? undefined : v);

/** `scheme://host[:port]` → its WHATWG origin (lower-case host, default port dropped); throws when it is not one. */
export function normalizeOrigin(value: string): string {
  const u = new URL(value.trim());
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`${value}: only http and https origins`);
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash || u.username || u.password) throw new Error(`${value}: an origin is scheme://host[:port], nothing more`);
  return u.origin;
}

/** A comma-separated list of origins, normalized; an entry that is not an origin is a config error. */
export const originList = (def: readonly string[] = []) =>
  z.preprocess(
    (v) => {
      const b = blank(v);
      return typeof b === 'string' ? b.split(',').map((s) => s.trim()).filter(Boolean) : (b ?? [...def]);
    },
    z.array(z.string()).transform((list, ctx) => {
      const out: string[] = [];
      for (const item of list) {
        try {
          out.push(normalizeOrigin(item));
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
          return z.NEVER;
        }
      }
      return out;
    }),
  );

/** Meta's media CDN: where Graph's media lookups point (whatsapp-cloud-api.md §8). */
export const DEFAULT_WHATSAPP_MEDIA_ORIGINS = ['https://lookaside.fbsbx.com'] as const;

/**
 * Environment fragment of the guarded fetcher. Sizes and time limits are the media pipeline's
 * (MEDIA_MAX_BYTES, MEDIA_DOWNLOAD_TIMEOUT_MS); these say where fetching may go.
 */
export const fetchEnv = {
  /**
   * Origins (`scheme://host:port`, comma-separated) fetched from whatever their address: an
   * internal file server, a self-hosted Chatwoot's storage on another host. Everything else must
   * resolve only to public addresses (or be a configured provider's own origin).
   */
  FETCH_ALLOWED_ORIGINS: originList(),
  /** Redirects followed per fetch, each re-checked. */
  FETCH_MAX_REDIRECTS: int(5, 0),
  /** Origins besides WHATSAPP_GRAPH_URL that receive the WhatsApp access token (Meta's media CDN). */
  WHATSAPP_MEDIA_ORIGINS: originList(DEFAULT_WHATSAPP_MEDIA_ORIGINS),
};

/** Parsed values of {@link fetchEnv}. */
export type FetchEnv = z.infer<z.ZodObject<typeof fetchEnv>>;
