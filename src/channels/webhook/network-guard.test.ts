import { describe, expect, it } from 'vitest';
import { JourneyDefinition } from '../../core/journey-definition.js';
import { assertPublicLiteral, isPublicAddress } from './network-guard.js';
import { destinationUrl } from './webhook-channel.js';

describe('webhook targets', () => {
  it('tells public addresses from loopback, private, link-local and reserved ones', () => {
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111'])
      expect(isPublicAddress(address), address).toBe(true);
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254', // cloud metadata
      '100.64.0.1', // carrier-grade NAT
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fc00::1',
      'fe80::1',
      '::ffff:127.0.0.1', // IPv4 mapped into IPv6
      '::ffff:10.0.0.1',
      'not-an-address',
    ])
      expect(isPublicAddress(address), address).toBe(false);
  });

  it('refuses private literals in URLs and leaves names to the lookup', () => {
    expect(() => assertPublicLiteral(new URL('http://[::1]:8080/'))).toThrow(/private or reserved/);
    expect(() => assertPublicLiteral(new URL('http://[::127.0.0.1]/'))).toThrow(/private or reserved/);
    expect(() => assertPublicLiteral(new URL('http://[::ffff:10.0.0.7]/'))).toThrow(/private or reserved/);
    expect(() => assertPublicLiteral(new URL('http://10.0.0.7/'))).toThrow(/private or reserved/);
    expect(() => assertPublicLiteral(new URL('http://2130706433/'))).toThrow(/private or reserved/); // 127.0.0.1 as one number
    expect(() => assertPublicLiteral(new URL('https://crm.example.com/'))).not.toThrow();
    expect(() => assertPublicLiteral(new URL('https://93.184.216.34/'))).not.toThrow();
  });

  it('adds a step path to the destination URL without leaving its origin', () => {
    expect(destinationUrl('https://crm.example.com/hooks/', '/leads').href).toBe(
      'https://crm.example.com/hooks/leads',
    );
    expect(destinationUrl('https://crm.example.com/hooks', '/leads?x=1').href).toBe(
      'https://crm.example.com/hooks/leads?x=1',
    );
    expect(destinationUrl('https://crm.example.com/hooks?key=1', '/').href).toBe(
      'https://crm.example.com/hooks?key=1',
    );
    // The destination's own query (often its key) stays; the step's is added to it.
    expect(
      destinationUrl('https://crm.example.com/hooks?code=secret', '/leads?source=mops&next=a?b').href,
    ).toBe('https://crm.example.com/hooks/leads?code=secret&source=mops&next=a?b');
    expect(destinationUrl('https://crm.example.com', '/@evil.example.com').origin).toBe(
      'https://crm.example.com',
    );
  });

  it("refuses a step query setting a parameter the destination's URL sets, however it is spelt", () => {
    // Receivers that read the last of two values would take the step's key over the destination's.
    for (const path of ['/leads?code=mine', '/?source=mops&code=', '/leads?co%64e=mine', '/?code'])
      expect(() => destinationUrl('https://crm.example.com/hooks?code=secret', path)).toThrow(
        "the path's query sets code, which the destination's URL sets itself",
      );
    expect(destinationUrl('https://crm.example.com/hooks?code=secret', '/leads?codes=1').search).toBe(
      '?code=secret&codes=1',
    );
  });

  it("refuses a step path climbing out of the destination's path, encoded dots and slashes included", () => {
    expect(() => destinationUrl('https://crm.example.com/tenant-a/hooks/', '/%2e%2e/%2E%2e/admin')).toThrow(
      /leaves the destination's own path/,
    );
    expect(() => destinationUrl('https://crm.example.com/tenant-a/hooks/', '/..;/..;/admin')).toThrow(
      /leaves the destination's own path/,
    );
    // A receiver decoding %2F before resolving dots would read /hooks/..%2F..%2Fadmin as /admin.
    expect(() => destinationUrl('https://crm.example.com/tenant-a/hooks/', '/..%2F..%2Fadmin')).toThrow(
      /encoded slash/,
    );
    const step = (path: string) =>
      JourneyDefinition.safeParse({
        name: 'Hand-off',
        entry: { trigger: { type: 'manual' } },
        start: 'call',
        steps: [
          { id: 'call', type: 'webhook', destination: 'crm', path, next: 'done' },
          { id: 'done', type: 'exit' },
        ],
      });
    for (const path of [
      '/../admin',
      '/%2e%2e/admin',
      '/leads/%2E./x',
      '/.%2e?x=1',
      '/..%2Fadmin',
      '/x%5c..%5cy',
      // Tomcat, Spring and Jetty drop a segment's parameter, then resolve the dots left.
      '/..;/..;/admin',
      '/leads/%2e%2e;x=1/y',
      '/.;/x',
    ])
      expect(step(path).success, path).toBe(false);
    expect(step('/leads/v2.1/%2e-not-a-segment').success).toBe(true);
    expect(step('/leads;v=2/..x').success).toBe(true);
    expect(step('/leads//x').success).toBe(false);
    expect(step('/leads?next=https://example.com/../a').success).toBe(true);
    expect(step('/leads?next=https%3A%2F%2Fexample.com').success).toBe(true);
  });
});
