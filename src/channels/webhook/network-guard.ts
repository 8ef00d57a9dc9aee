import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { Agent } from 'undici';
import { isPublicAddress } from '../../core/public-address.js';

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
