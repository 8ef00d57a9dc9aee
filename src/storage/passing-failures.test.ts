import { describe, expect, it } from 'vitest';
import { isPassingFailure } from './passing-failures.js';

describe('a passing failure of the database', () => {
  it('is what node-postgres says when a connection is lost or cannot be had in time', () => {
    for (const message of [
      'Connection terminated unexpectedly',
      'Connection terminated due to connection timeout',
      'timeout exceeded when trying to connect',
      'Query read timeout',
      'timeout expired',
    ])
      expect(isPassingFailure(new Error(message))).toBe(true);
  });

  it('is not an error that merely mentions a timeout', () => {
    expect(isPassingFailure(new Error('webhooks.timeoutMs: expected number, received string'))).toBe(false);
    expect(isPassingFailure(new Error('the trait session_timeout cannot be read'))).toBe(false);
  });
});
