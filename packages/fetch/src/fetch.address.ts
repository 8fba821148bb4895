import ipaddr from 'ipaddr.js';

/**
 * Why an address may not be fetched from. Each value is a label of `sb_fetch_refused_total`, so the
 * set stays small: ipaddr.js's many special ranges fold into these.
 */
export const AddressRefusal = {
  loopback: 'loopback',
  private: 'private',
  linkLocal: 'link_local',
  cgnat: 'cgnat',
  multicast: 'multicast',
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  reserved: 'reserved',
  /** `::ffff:a.b.c.d` and other IPv6 forms that carry an IPv4 address (6to4, Teredo, NAT64). */
  ipv4Embedded: 'ipv4_embedded',
  invalid: 'invalid_address',
} as const;
export type AddressRefusal = (typeof AddressRefusal)[keyof typeof AddressRefusal];

/** The verdict on one IP address: public (may be fetched from) or refused with a reason. */
export type AddressVerdict = { readonly public: true; readonly address: string } | { readonly public: false; readonly address: string; readonly reason: AddressRefusal; readonly range: string };

const V4_REASON: Record<string, AddressRefusal> = {
  unspecified: AddressRefusal.unspecified,
  broadcast: AddressRefusal.broadcast,
  multicast: AddressRefusal.multicast,
  linkLocal: AddressRefusal.linkLocal,
  loopback: AddressRefusal.loopback,
  carrierGradeNat: AddressRefusal.cgnat,
  private: AddressRefusal.private,
};

const V6_REASON: Record<string, AddressRefusal> = {
  unspecified: AddressRefusal.unspecified,
  linkLocal: AddressRefusal.linkLocal,
  multicast: AddressRefusal.multicast,
  loopback: AddressRefusal.loopback,
  uniqueLocal: AddressRefusal.private,
  deprecatedSiteLocal: AddressRefusal.private,
  ipv4Mapped: AddressRefusal.ipv4Embedded,
  rfc6145: AddressRefusal.ipv4Embedded,
  rfc6052: AddressRefusal.ipv4Embedded,
  '6to4': AddressRefusal.ipv4Embedded,
  teredo: AddressRefusal.ipv4Embedded,
};

/** Global unicast IPv6 (2000::/3); everything outside it is special or unassigned. */
const V6_GLOBAL: [ipaddr.IPv6, number] = [ipaddr.IPv6.parse('2000::'), 3];

function refuse(address: string, reason: AddressRefusal, range: string): AddressVerdict {
  return { public: false, address, reason, range };
}

/** The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4, Teredo), if any. */
function embeddedV4(ip: ipaddr.IPv6, range: string): ipaddr.IPv4 | undefined {
  const b = ip.toByteArray();
  switch (range) {
    case 'ipv4Mapped':
    case 'rfc6145':
    case 'rfc6052':
      return new ipaddr.IPv4(b.slice(12, 16));
    case '6to4':
      return new ipaddr.IPv4(b.slice(2, 6));
    case 'teredo':
      // the client address is stored inverted in the last 32 bits
      return new ipaddr.IPv4(b.slice(12, 16).map((x) => x ^ 0xff));
    default:
      return undefined;
  }
}

function classifyV4(ip: ipaddr.IPv4, shown: string): AddressVerdict {
  const range = ip.range();
  if (range === 'unicast') return { public: true, address: shown };
  return refuse(shown, V4_REASON[range] ?? AddressRefusal.reserved, range);
}

/**
 * Classifies one IP address (IPv4 in any spelling ipaddr.js accepts, IPv6 with or without
 * brackets or zone). Only plain public unicast is allowed: loopback, private, link-local,
 * CGNAT, multicast, unspecified, broadcast, documentation/benchmark/reserved ranges and every
 * IPv6 form that embeds an IPv4 address are refused; for the embedded forms the reason names
 * what the embedded IPv4 address is when that is itself special (`[::ffff:127.0.0.1]` → loopback).
 */
export function classifyAddress(input: string): AddressVerdict {
  const raw = input.trim().replace(/^\[(.*)\]$/, '$1');
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.parse(raw.replace(/%.*$/, ''));
  } catch {
    return refuse(input, AddressRefusal.invalid, 'invalid');
  }
  if (ip.kind() === 'ipv4') return classifyV4(ip as ipaddr.IPv4, ip.toString());
  const v6 = ip as ipaddr.IPv6;
  const shown = v6.toString();
  const range = v6.range();
  const v4 = embeddedV4(v6, range);
  if (v4) {
    const inner = classifyV4(v4, shown);
    return inner.public ? refuse(shown, AddressRefusal.ipv4Embedded, range) : refuse(shown, inner.reason, `${range}+${inner.range}`);
  }
  if (range !== 'unicast') return refuse(shown, V6_REASON[range] ?? AddressRefusal.reserved, range);
  if (!v6.match(V6_GLOBAL)) return refuse(shown, AddressRefusal.reserved, 'notGlobalUnicast');
  return { public: true, address: shown };
}

/** True when `host` (a URL hostname, brackets allowed) is an IP literal rather than a name. */
export function isIpLiteral(host: string): boolean {
  return ipaddr.isValid(host.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, ''));
}
