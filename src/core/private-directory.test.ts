import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveSecret } from '../server/secret.js';
import { openSqlite } from '../storage/sqlite/sqlite-appender.js';

describe('the data directory', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'mops-private-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const permissions = (file: string) => statSync(file).mode & 0o777;

  it('is created for its owner alone, whether the secret or the database comes first', () => {
    const forSecret = path.join(root, 'first', 'data');
    resolveSecret({ secret: undefined, dataDir: forSecret });
    expect(permissions(forSecret)).toBe(0o700);
    expect(permissions(path.join(forSecret, 'secret'))).toBe(0o600);

    const forDatabase = path.join(root, 'second', 'data');
    openSqlite(path.join(forDatabase, 'mops.db'), { synchronous: 'normal', busyTimeoutMs: 1000 }).close();
    expect(permissions(forDatabase)).toBe(0o700);
  });
});
