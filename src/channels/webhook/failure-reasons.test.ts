import { describe, expect, it } from 'vitest';
import {
  answeredReason,
  reasonShownToMembers,
  unansweredReason,
  unreadableSecretReason,
} from './failure-reasons.js';
import { PrivateNetworkError } from './network-guard.js';

describe('the reason members read of a failed webhook call', () => {
  it("keeps the status code of an answer, without the receiver's host or the text it answered", () => {
    const admins = answeredReason({
      status: 422,
      host: 'tok3n.hooks.example.com',
      excerpt: '{"error":"bad key sk_live_123"}',
    });
    expect(admins).toBe('HTTP 422 from tok3n.hooks.example.com: {"error":"bad key sk_live_123"}');
    expect(reasonShownToMembers(admins)).toBe('HTTP 422 from the receiver');
    expect(
      reasonShownToMembers(answeredReason({ status: 500, host: 'crm.example.com:8443', excerpt: '' })),
    ).toBe('HTTP 500 from the receiver');
    expect(
      reasonShownToMembers(answeredReason({ status: 302, host: '[2001:db8::1]:8080', excerpt: 'Moved' })),
    ).toBe('HTTP 302 from the receiver (redirects are not followed)');
  });

  it('says what kept a call from an answer, without the host or the address dialled', () => {
    const host = 'tok3n.hooks.example.com';
    const cases: Array<[string, string]> = [
      ['connect ECONNREFUSED 10.1.2.3:443', 'the receiver refused the connection'],
      ['The operation was aborted due to timeout', 'the receiver did not answer in time'],
      ['Headers Timeout Error', 'the receiver did not answer in time'],
      [`getaddrinfo ENOTFOUND ${host}`, "the receiver's name has no address"],
      [`${host} has no address`, "the receiver's name has no address"],
      [
        `Hostname/IP does not match certificate's altnames: Host: ${host}.`,
        'the secure connection to the receiver failed',
      ],
      ['other side closed', 'the connection broke off before an answer'],
      [`something new about ${host}`, 'the receiver could not be reached'],
    ];
    for (const [error, shown] of cases) {
      expect(reasonShownToMembers(unansweredReason(host, new Error(error)))).toBe(shown);
      expect(reasonShownToMembers(`retrying: ${unansweredReason('127.0.0.1:8080', new Error(error))}`)).toBe(
        `retrying: ${shown}`,
      );
    }
  });

  it("lists each address tried when all of a name's addresses failed (their AggregateError says nothing itself)", () => {
    const refused = (address: string) =>
      Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' });
    const error = new AggregateError([refused('127.0.0.1:1'), refused('::1:1')]);
    expect(error.message).toBe('');
    const admins = unansweredReason('crm.example.com:1', error);
    expect(admins).toBe('crm.example.com:1: connect ECONNREFUSED 127.0.0.1:1; connect ECONNREFUSED ::1:1');
    expect(reasonShownToMembers(admins)).toBe('the receiver refused the connection');
    // One with a message of its own keeps it, before those of its errors.
    expect(
      unansweredReason('crm.example.com', new AggregateError([new Error('a'), new Error('b')], 'all failed')),
    ).toBe('crm.example.com: all failed: a; b');
  });

  it('keeps out a host holding characters a URL allows in a name (a token with an underscore)', () => {
    for (const url of [
      'https://tok_3n.hooks.example.com/in',
      "https://a~b!c$d*e'f,g;h=i.example.com:8443/",
      'http://tok_3n:8080/',
    ]) {
      const { host } = new URL(url);
      const admins = unansweredReason(host, new Error('connect ECONNREFUSED 10.1.2.3:443'));
      expect(admins.startsWith(host)).toBe(true);
      expect(reasonShownToMembers(admins)).toBe('the receiver refused the connection');
      expect(
        reasonShownToMembers(`retrying: ${unansweredReason(host, new Error('other side closed'))}`),
      ).toBe('retrying: the connection broke off before an answer');
    }
  });

  it('says a private address was refused without naming it', () => {
    const refused = new PrivateNetworkError('tok3n.internal.example.com', '10.1.2.3').message;
    expect(reasonShownToMembers(refused)).toBe(
      "the receiver's address is private or reserved; the workspace does not allow calls to private networks",
    );
  });

  it('shows reasons that name no receiver as they are', () => {
    for (const reason of [
      'journey paused',
      'webhook destination crm is no longer configured',
      'the body is not valid JSON once rendered: Unexpected token',
      'SQLITE_BUSY: database is locked',
      'retrying: another worker took the message over',
      unreadableSecretReason('crm', 'header X-Api-Key'),
    ])
      expect(reasonShownToMembers(reason)).toBe(reason);
    expect(reasonShownToMembers(null)).toBeNull();
  });
});
