import { describe, expect, it } from 'vitest';
import { isOutOfInternetReach, privateTargetHost } from './private-target.js';

describe('a URL written with a private address', () => {
  it('names its host for loopback, private, link-local and localhost, and nothing for public ones or names', () => {
    for (const url of [
      'http://127.0.0.1:8080/hook',
      'https://10.0.0.5',
      'http://192.168.1.20/crm',
      'http://169.254.169.254/latest',
      'http://[::1]:3000',
      'http://[::ffff:127.0.0.1]/',
      'http://[::8.8.8.8]/',
      'http://localhost:4000',
      'http://api.localhost',
    ])
      expect(privateTargetHost(url), url).toBeDefined();
    expect(privateTargetHost('http://127.0.0.1:8080/hook')).toBe('127.0.0.1');
    for (const url of [
      'https://api.twilio.com',
      'https://8.8.8.8',
      'https://crm.example.com/hooks',
      'not a url',
      '',
    ])
      expect(privateTargetHost(url), url).toBeUndefined();
  });
});

describe('a URL out of reach of a provider on the internet', () => {
  it('is one at a loopback or private address or at a name only a local network resolves', () => {
    for (const url of [
      'http://127.0.0.1:3000/v1/sms/inbound/w1',
      'http://192.168.1.20/v1/sms/inbound/w1',
      'http://[::1]:3000/',
      'http://localhost:3000/',
      'http://mops:3000/v1/sms/inbound/w1',
      'http://shop.local/',
      'https://mops.internal/',
      'http://router.home.arpa/',
    ])
      expect(isOutOfInternetReach(url), url).toBe(true);
    for (const url of ['https://mops.example.com/v1/sms/inbound/w1', 'https://8.8.8.8/', 'not a url'])
      expect(isOutOfInternetReach(url), url).toBe(false);
  });
});
