import ipaddr from 'ipaddr.js';
import { isPublicAddress } from '../../../src/core/public-address.js';

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
  return ipaddr.isValid(host) && !isPublicAddress(host) ? hostname : undefined;
}
