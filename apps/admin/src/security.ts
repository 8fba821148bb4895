import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';

/**
 * Security headers of every admin page: `X-Frame-Options: DENY` and a CSP with
 * `frame-ancestors 'none'` (no clickjacking of Bull Board's retry/delete buttons or the sandbox's
 * take-over). Scripts only from the app itself (the sandbox page and Bull Board load theirs as files);
 * inline styles stay allowed (Bull Board's loading screen, the overview's `<style>`); images and audio
 * may also come from https (media the bot sends by link). No HSTS and no upgrade-insecure-requests:
 * the app is served over plain http on localhost; the TLS proxy in front sets HSTS.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: true,
      directives: {
        'frame-ancestors': ["'none'"],
        'img-src': ["'self'", 'data:', 'blob:', 'https:'],
        'media-src': ["'self'", 'data:', 'blob:', 'https:'],
        'upgrade-insecure-requests': null,
      },
    },
    xFrameOptions: { action: 'deny' },
    strictTransportSecurity: false,
  });
}

/** `localhost`, `*.localhost`, 127.0.0.0/8 and `[::1]`, with or without a port. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const h = host.trim().toLowerCase();
  const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.replace(/:\d+$/, '');
  if (h.startsWith('[') && !/^\[[^\]]+\](:\d+)?$/.test(h)) return false;
  if (!h.startsWith('[') && !/^[a-z0-9.-]+(:\d+)?$/.test(h)) return false;
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (name === '[::1]') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name) && name.split('.').every((p) => Number(p) <= 255);
}

/**
 * With authentication off, only requests naming a loopback `Host` are served (403 otherwise): a page
 * on another site cannot reach the open admin through DNS rebinding, and a port published by mistake
 * does not expose it under a public name.
 */
export function loopbackHostOnly(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (isLoopbackHost(req.headers.host)) {
      next();
      return;
    }
    res.status(403).type('text/plain').send('admin auth is off (ADMIN_AUTH=off): only localhost / loopback Host names are served');
  };
}
