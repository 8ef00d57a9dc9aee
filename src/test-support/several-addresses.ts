import dns, { type LookupAddress } from 'node:dns';
import { createServer, isIP } from 'node:net';

/**
 * Makes `hostname` resolve to these addresses, in turn, for every connection this process makes
 * (Node's sockets look names up through `dns.lookup`); other names resolve as before. Returns what
 * undoes it, for `onTestFinished`. A name with several addresses is how a call fails on each of them:
 * Node tries them in turn and throws an AggregateError, whose own message is empty.
 */
export function resolvingTo(hostname: string, addresses: string[]): () => void {
  const original = dns.lookup;
  const entries: LookupAddress[] = addresses.map((address) => ({ address, family: isIP(address) }));
  const lookup = (name: string, options: unknown, callback?: unknown) => {
    const done = (typeof options === 'function' ? options : callback) as (...args: unknown[]) => void;
    const given = typeof options === 'object' && options !== null ? (options as dns.LookupOptions) : {};
    if (name !== hostname)
      return (original as (...args: unknown[]) => void).call(dns, name, options, callback);
    const [first] = entries;
    if (given.all) return process.nextTick(done, null, entries);
    return process.nextTick(done, null, first?.address, first?.family);
  };
  dns.lookup = lookup as typeof dns.lookup;
  return () => {
    dns.lookup = original;
  };
}

/** A port nothing listens on, on loopback: connections to it are refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
