import { safeEqual } from '@switchboard/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** Basic-auth credentials of the admin app. */
export interface AdminCredentials {
  user: string;
  password: string;
}

/** The constant-time compare of `core` (the sandbox fakes import it from here). */
export { safeEqual };

/** Parses `Authorization: Basic …`; undefined when absent or malformed. */
export function parseBasicAuth(header: string | undefined): AdminCredentials | undefined {
  if (!header) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Basic auth in front of the admin routes. Both the user and the password are always compared
 * (no short circuit), so a wrong user name takes as long as a wrong password.
 */
export function basicAuth(creds: AdminCredentials, realm = 'switchboard admin'): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const given = parseBasicAuth(req.headers.authorization);
    const userOk = safeEqual(given?.user ?? '', creds.user);
    const passOk = safeEqual(given?.password ?? '', creds.password);
    if (given && userOk && passOk) {
      next();
      return;
    }
    res.set('WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`);
    res.status(401).type('text/plain').send('authentication required');
  };
}
