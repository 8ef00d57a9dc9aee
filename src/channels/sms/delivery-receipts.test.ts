import { describe, expect, it } from 'vitest';
import { isStatusUrlReachable } from './delivery-receipts.js';

const TWILIO = 'https://api.twilio.com';
const status = (origin: string) => `${origin}/v1/sms/status/ws_1/msg_1`;

describe('asking the provider for status reports', () => {
  it.each([
    'http://localhost:3000',
    'http://mops.localhost',
    'http://127.0.0.1:3000',
    'http://[::1]:3000',
    'http://10.0.0.5',
    'http://172.16.4.2',
    'http://192.168.1.20:8080',
    'http://169.254.10.10',
    'http://[fd00::5]',
    'http://mops.local',
    'http://mops.internal',
    'http://mops.lan',
    'http://mops.home.arpa',
    'http://mops',
    'http://mops.test',
  ])('asks for none at %s when the provider is on the internet', (origin) => {
    expect(isStatusUrlReachable(status(origin), TWILIO)).toBe(false);
  });

  it.each([
    'https://mops.example.com',
    'https://mops.example.com:8443',
    'http://81.2.69.160',
    'https://local.example.com',
    'https://lan.shop.it',
  ])('asks for them at %s, an address on the internet', (origin) => {
    expect(isStatusUrlReachable(status(origin), TWILIO)).toBe(true);
  });

  it('asks for them at a local address when the provider is local too (a gateway of its own, a stand-in)', () => {
    expect(isStatusUrlReachable(status('http://127.0.0.1:3000'), 'http://127.0.0.1:4010')).toBe(true);
    expect(isStatusUrlReachable(status('http://mops.lan'), 'http://10.0.0.9/api/laml')).toBe(true);
    expect(isStatusUrlReachable(status('http://localhost:3000'), 'http://sms-gateway:8080')).toBe(true);
  });
});
