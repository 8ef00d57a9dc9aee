import ipaddr from 'ipaddr.js';
import { isLocalHostName } from '../../../src/core/local-names.js';

/**
 * The host of a URL written as a loopback or private address (`127.0.0.1`, `10.0.0.5`, `[::1]`,
 * `localhost`), which the server refuses to call while the section does not allow private networks;
 * undefined for any other URL (a name is judged by the server when it calls, on the address it gets).
 */
export function privateTargetHost(url: string): string | undefined {
  let hostname: string;
  try {
    hostname = new URL(url.trim()).hostname;
  } catch {
    return undefined;
  }
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return hostname;
  if (!ipaddr.isValid(host)) return undefined;
  // As the server's `isPublicAddress` (channels/webhook/network-guard.ts) judges it; that module dials
  // out, and the console shares only import-free modules of src/core (see server-rules.test.ts).
  let address = ipaddr.parse(host);
  if (address.kind() === 'ipv6') {
    const ipv6 = address as ipaddr.IPv6;
    if (ipv6.isIPv4MappedAddress()) address = ipv6.toIPv4Address();
    else if (ipv6.parts.slice(0, 6).every((part) => part === 0)) return hostname;
  }
  return address.range() === 'unicast' ? undefined : hostname;
}

/**
 * Whether a URL is out of reach of a provider on the internet: a loopback or private address, or a
 * name only this machine or its network resolves (`mops`, `shop.local`), as the server judges it
 * before asking a provider to call it.
 */
export function isOutOfInternetReach(url: string): boolean {
  if (privateTargetHost(url) !== undefined) return true;
  if (!URL.canParse(url.trim())) return false;
  const host = new URL(url.trim()).hostname.replace(/^\[|\]$/g, '');
  return !ipaddr.isValid(host) && isLocalHostName(host);
}
