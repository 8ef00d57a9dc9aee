import ipaddr from 'ipaddr.js';

/**
 * Whether an address is on the public internet. Loopback, private (RFC 1918, unique local), link-local
 * (cloud metadata at 169.254.169.254), carrier-grade NAT, multicast, unspecified and reserved ranges
 * are not; an IPv4 address mapped into IPv6 is judged as the IPv4 address it carries, and the
 * IPv4-compatible form (::/96) is refused outright. Pure (ipaddr.js only): the server guards its calls
 * with it (channels/webhook/network-guard.ts), and the console warns of a private URL as it is typed.
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
