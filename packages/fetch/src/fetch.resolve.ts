import { lookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';

/** One answer of a name lookup. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/**
 * Resolves a host name to every address it has (A and AAAA). The fetcher checks all of them and
 * connects to one of them itself, so a second, different answer never reaches the socket.
 * Injectable so tests can play DNS (a name that answers public first and loopback next).
 */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** The system resolver (getaddrinfo, as every other connection of the process uses: hosts file included). */
export const systemResolver: Resolver = async (hostname) => {
  const answers: LookupAddress[] = await lookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/**
 * A `lookup` for `net.connect` that answers with exactly one, already checked address, whatever
 * the name: the socket goes where the check said, and TLS SNI and `Host` still carry the name.
 */
export function pinnedLookup(target: ResolvedAddress) {
  return (_hostname: string, options: unknown, callback?: unknown): void => {
    const cb = (typeof options === 'function' ? options : callback) as (err: Error | null, address: string | LookupAddress[], family?: number) => void;
    const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all === true;
    if (all) cb(null, [{ address: target.address, family: target.family }]);
    else cb(null, target.address, target.family);
  };
}
