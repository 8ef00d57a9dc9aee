/**
 * Names no host on the internet can reach: loopback (`localhost`), mDNS (`.local`), the names set
 * aside for private networks and testing (RFC 6761, 6762, 8375; ICANN's `.internal`).
 */
const LOCAL_NAME = /(^|\.)(localhost|local|localdomain|internal|lan|home\.arpa|test|invalid)$/;

/**
 * Whether a host name (not an IP address) only this machine or a private network can resolve: one of
 * the names above, or a bare name (`mops`), which only a local resolver knows. Shared with the console,
 * which says so beside the SMS webhook's address.
 */
export function isLocalHostName(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return !name.includes('.') || LOCAL_NAME.test(name);
}
