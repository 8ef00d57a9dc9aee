import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, ENVIRONMENT_VARIABLES, loadConfig } from './config.js';

describe('.env.example', () => {
  it('documents every variable Mops reads, and no other', () => {
    const example = readFileSync(path.resolve(import.meta.dirname, '../../.env.example'), 'utf8');
    const documented = [...example.matchAll(/^# (MOPS_[A-Z0-9_]+)=/gm)].map((match) => match[1]);
    expect(documented.sort()).toEqual([...ENVIRONMENT_VARIABLES].sort());
  });
});

describe('loadConfig', () => {
  it('defaults to the embedded database under ./data on 127.0.0.1:3000', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 3000,
      dataDir: path.resolve('data'),
      database: { kind: 'sqlite', path: path.resolve('data/mops.db'), synchronous: 'normal' },
      publicUrl: 'http://127.0.0.1:3000',
      cookieSecure: false,
    });
  });

  it('reads PostgreSQL settings and marks cookies secure behind https', () => {
    const config = loadConfig({
      MOPS_DATABASE_URL: 'postgres://u@db/mops',
      MOPS_SECRET: 'x'.repeat(32),
      MOPS_PUBLIC_URL: 'https://mops.example.com/',
      MOPS_PG_POOL_SIZE: '4',
      MOPS_PG_IDLE_IN_TRANSACTION_SECONDS: '90',
    });
    expect(config.database).toEqual({
      kind: 'postgres',
      url: 'postgres://u@db/mops',
      poolSize: 4,
      idleInTransactionTimeoutMs: 90_000,
    });
    expect(config.publicUrl).toBe('https://mops.example.com');
    expect(config.cookieSecure).toBe(true);
  });

  it('lists every bad variable at once, by name', () => {
    try {
      loadConfig({ MOPS_PORT: '70000', MOPS_LOG_LEVEL: 'loud', MOPS_SECRET: 'short' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).toMatch(/MOPS_PORT/);
      expect(problems).toMatch(/MOPS_LOG_LEVEL/);
      expect(problems).toMatch(/MOPS_SECRET: must be at least 32 characters/);
    }
  });

  it('requires a shared secret with PostgreSQL', () => {
    expect(() => loadConfig({ MOPS_DATABASE_URL: 'postgres://db/mops' })).toThrow(/MOPS_SECRET: is required/);
  });
});
