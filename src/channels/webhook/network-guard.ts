import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent } from 'undici';

/**
 * Whether an address is on the public internet. Loopback, private (RFC 1918, unique local), link-local
 * (cloud metadata at 169.254.169.254), carrier-grade NAT, multicast, unspecified and reserved ranges
 * are not; an IPv4 address mapped into IPv6 is judged as the IPv4 address it carries, and the
 * IPv4-compatible form (::/96) is refused outright.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6') {
    const ipv6 = parsed as ipaddr.IPv6;
    if (ipv6.isIPv4MappedAddress()) parsed = ipv6.toIPv4Address();
    // The deprecated IPv4-compatible form (::a.b.c.d) is nothing a public service is reached at.
    else if (ipv6.parts.slice(0, 6).every((part) => part === 0)) return false;
  }
  return parsed.range() === 'unicast';
}

export class PrivateNetworkError extends Error {
  constructor(host: string, address: string) {
    super(
      `${host} resolves to ${address}, a private or reserved address; the workspace does not allow calls to private networks`,
    );
    this.name = 'PrivateNetworkError';
  }
}

/**
 * A DNS lookup for outgoing connections that refuses private addresses. It runs when the connection
 * is made, on the address actually dialled, so a name that resolves to a public address when checked
 * and to a private one when called (DNS rebinding) is still refused.
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 0);
    const refused = addresses.find((entry) => !isPublicAddress(entry.address));
    if (refused) return callback(new PrivateNetworkError(hostname, refused.address), '', 0);
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    const [first] = addresses;
    if (!first) return callback(new Error(`${hostname} has no address`), '', 0);
    callback(null, first.address, first.family);
  });
};

/** Refuses a URL whose host is a literal private address (literals are dialled without a lookup). */
export function assertPublicLiteral(url: URL): void {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 && !isPublicAddress(host)) throw new PrivateNetworkError(url.hostname, host);
}

// Connections are pooled per origin; the guarded agent checks every address it dials.
const publicAgent = new Agent({ connect: { lookup: publicOnlyLookup } });
const anyAgent = new Agent();

/** The connection pool for calls that may, or may not, reach private networks. */
export function agentFor(allowPrivateNetworks: boolean): Agent {
  return allowPrivateNetworks ? anyAgent : publicAgent;
}

/** The refusal of a private address behind a failed call (undici wraps the lookup's error), if that is what failed it. */
export function privateNetworkRefusal(error: unknown): PrivateNetworkError | undefined {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (current instanceof PrivateNetworkError) return current;
  }
  return undefined;
}
